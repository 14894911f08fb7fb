"""The training subprocess: summaries, garbage, silence, hangs, unbounded
allocation, FAIL lines, and an environment without API keys; the verdict a
run gets once the harness has scored the model it saved (or found none)."""
from __future__ import annotations

import os
import sys

import pytest

from deeploop.experiment.decide import crash_reason, judge
from deeploop.experiment.evaluate import STOP_GRACE
from deeploop.experiment.knobs import set_knobs
from deeploop.experiment.trainer import kill_timeout, parse_summary, run_training, scrub_env
from deeploop.experiment.score import score_model
from deeploop.experiment.warm import WarmStarter

from tests.helpers import PATIENCE, wait_until

from .conftest import FAKE_TRAIN, fake_bpb

SUMMARY = """step 10 | loss 2.0
---
val_bpb:          1.234567
training_seconds: 60.1
total_seconds:    65.0
peak_vram_mb:     1024.0
mfu_percent:      30.5
total_tokens_M:   2.5
num_steps:        900
num_params_M:     0.5
depth:            4
"""


def test_parse_summary_reads_the_block_after_the_last_marker():
    summary = parse_summary("---\nval_bpb: 9.0\n" + SUMMARY)
    assert summary["val_bpb"] == 1.234567 and summary["num_steps"] == 900
    assert set(summary) >= {"training_seconds", "peak_vram_mb", "mfu_percent", "depth"}


@pytest.mark.parametrize("text", ["", "no marker\nval_bpb: 1.0\n", "---\nval_bpb: nan\n",
                                  "---\nval_bpb: banana\n"])
def test_parse_summary_without_a_usable_score(text):
    assert "val_bpb" not in parse_summary(text)


def test_scrub_env_drops_credentials_only():
    env = {"ANTHROPIC_API_KEY": "sk-1", "OPENAI_API_KEY": "x", "HF_TOKEN": "t",
           "AWS_SECRET_ACCESS_KEY": "s", "ANTHROPIC_BASE_URL": "u", "PATH": "/bin",
           "HOME": "/root", "DEEPLOOP_TIME_BUDGET": "5"}
    assert scrub_env(env) == {"PATH": "/bin", "HOME": "/root", "DEEPLOOP_TIME_BUDGET": "5"}


def test_the_stop_comes_at_the_budget_plus_the_startup_allowance():
    # a quarter of the budget on top, at least 10 s, at most 30 s (docs/experiment.md)
    assert kill_timeout(60) == 75 and kill_timeout(300) == 330
    assert kill_timeout(8) == 18 and kill_timeout(1000) == 1030


@pytest.fixture(params=["cold", "warm"])
def start(request):
    """Run each failure path both ways: a fresh subprocess, and forked from the
    warm-start helper (here preloading nothing, to stay fast)."""
    if request.param == "cold":
        yield {}
        return
    starter = WarmStarter(sys.executable, scrub_env(dict(os.environ)), preload=())
    starter.wait_ready()
    yield {"starter": starter}
    starter.close()


def trainer(tmp_path, mode, text=FAKE_TRAIN, **knobs):
    ws = tmp_path / "ws"
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "train.py").write_text(set_knobs(text, {"MODE": mode, **knobs}))
    return ws


def verdict(result, ws, data_dir):
    """The row's verdict as the loop reaches it: the harness scores what was
    saved unless training already crashed."""
    score = score_model(ws, data_dir) if crash_reason(result) is None else None
    return judge(result, score, None)


NO_MODEL = "no model saved: train.py wrote no model.pt"


def test_good_run_is_scored_by_the_harness(tmp_path, monkeypatch, start, fake_run):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    ws = trainer(tmp_path, "env")
    result = run_training(ws, tmp_path / "logs" / "001.log", 5, fake_run.data_dir, **start)
    assert crash_reason(result) is None and not result.stopped
    assert "val_bpb" not in result.summary and result.summary["depth"] == 4  # information only
    found = verdict(result, ws, fake_run.data_dir)
    assert found.status == "keep" and found.reason == "first scored run"
    assert found.val_bpb == pytest.approx(fake_bpb(fake_run), abs=1e-6)
    assert found.val_bpb > 2
    log = (tmp_path / "logs" / "001.log").read_text()
    assert log.splitlines()[0].strip() == "KEYS"  # no key or token reached the trainer
    assert "sk-ant-secret" not in log


@pytest.mark.parametrize("mode, reason", [
    ("garbage", NO_MODEL),
    ("silent", NO_MODEL),
    ("fail", "FAIL: loss nan at step 3"),
    ("error", "exit code 1"),
])
def test_bad_trainers_are_crashes(tmp_path, mode, reason, start, fake_run):
    ws = trainer(tmp_path, mode)
    result = run_training(ws, tmp_path / "x.log", 5, fake_run.data_dir, **start)
    found = verdict(result, ws, fake_run.data_dir)
    assert found.status == "crash" and found.reason == reason and found.val_bpb is None


def test_a_missing_summary_is_no_crash(tmp_path, start, fake_run):
    """The printed summary is information: a trainer that saves a model and
    prints nothing is scored all the same."""
    text = FAKE_TRAIN.replace('    print("---")\n', "    return\n", 1)
    assert text != FAKE_TRAIN
    ws = trainer(tmp_path, "ok", text)
    result = run_training(ws, tmp_path / "x.log", 5, fake_run.data_dir, **start)
    assert result.summary == {}
    found = verdict(result, ws, fake_run.data_dir)
    assert found.status == "keep"
    assert found.val_bpb == pytest.approx(fake_bpb(fake_run), abs=1e-6)


def test_a_hang_is_stopped_at_the_deadline(tmp_path, start, fake_run):
    ws = trainer(tmp_path, "hang")
    result = run_training(ws, tmp_path / "x.log", 5, fake_run.data_dir, timeout=1.0, **start)
    assert result.stopped and result.killed is None  # SIGTERM ended it, no SIGKILL needed
    assert result.wall_seconds >= 1.0 and result.deadline_s == 1.0  # not before the deadline
    assert crash_reason(result) is None  # scored on what it saved: here, nothing
    found = verdict(result, ws, fake_run.data_dir)
    assert found.status == "crash"
    assert found.reason == f"{NO_MODEL}; stopped at the deadline (1 s after launch)"


IGNORES_SIGTERM = FAKE_TRAIN.replace(
    "def main():\n", "def main():\n    import signal\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n", 1)


def test_a_trainer_ignoring_the_stop_is_killed_after_the_grace(tmp_path, start, fake_run):
    assert IGNORES_SIGTERM != FAKE_TRAIN and STOP_GRACE > 0
    ws = trainer(tmp_path, "hang", IGNORES_SIGTERM)
    result = run_training(ws, tmp_path / "x.log", 5, fake_run.data_dir, timeout=1.0,
                          grace=0.5, **start)
    assert result.stopped and result.killed == "timeout"
    assert result.wall_seconds >= 1.5  # the grace was given before SIGKILL
    found = verdict(result, ws, fake_run.data_dir)
    assert found.status == "crash" and found.reason.startswith(
        f"{NO_MODEL}; ignored the stop at 1 s and was killed")


def test_unbounded_allocation_is_killed_at_the_memory_cap(tmp_path, start):
    result = run_training(trainer(tmp_path, "alloc"), tmp_path / "x.log", 5, tmp_path,
                          memory_cap=300 * 2 ** 20, timeout=PATIENCE, **start)
    assert result.killed == "memory"
    assert crash_reason(result) == "killed: memory use passed the cap"


def test_one_warm_helper_serves_many_experiments(tmp_path, fake_run):
    starter = WarmStarter(sys.executable, scrub_env(dict(os.environ)), preload=("json",))
    try:
        outcomes = []
        for number, mode in enumerate(["ok", "error", "fail", "silent", "ok"]):
            ws = trainer(tmp_path / str(number), mode)
            result = run_training(ws, tmp_path / f"{number}.log", 5, fake_run.data_dir,
                                  starter=starter)
            found = verdict(result, ws, fake_run.data_dir)
            outcomes.append(found.reason if found.status == "crash" else round(found.val_bpb, 6))
        bpb = round(fake_bpb(fake_run), 6)
        assert outcomes == [bpb, "exit code 1", "FAIL: loss nan at step 3", NO_MODEL, bpb]
    finally:
        starter.close()
    assert starter.proc.returncode == 0


def test_a_dead_helper_falls_back_to_a_fresh_process(tmp_path, fake_run):
    starter = WarmStarter(sys.executable, scrub_env(dict(os.environ)), preload=())
    starter.close()
    ws = trainer(tmp_path, "ok")
    result = run_training(ws, tmp_path / "x.log", 5, fake_run.data_dir, starter=starter)
    found = verdict(result, ws, fake_run.data_dir)
    assert found.status == "keep"
    assert found.val_bpb == pytest.approx(fake_bpb(fake_run), abs=1e-6)


def test_a_helper_dying_mid_run_is_a_crash_not_a_harness_failure(tmp_path):
    starter = WarmStarter(sys.executable, scrub_env(dict(os.environ)), preload=())
    ws = trainer(tmp_path, "ok", SLEEP=600.0)  # only a kill ends it within the wait below
    started = []

    def kill_helper(pid):
        started.append(pid)
        starter.proc.kill()

    result = run_training(ws, tmp_path / "x.log", 5, tmp_path, starter=starter,
                          on_start=kill_helper)
    assert crash_reason(result) == "exit code -9"
    starter.close()

    def gone(pid=started[0]):  # the orphaned trainer was killed with its group
        try:
            return open(f"/proc/{pid}/stat").read().split()[2] == "Z"
        except FileNotFoundError:
            return True
    wait_until(gone, "the trainer to die with its helper")
