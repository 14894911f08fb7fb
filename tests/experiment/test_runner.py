"""The training subprocess: summaries, garbage, silence, hangs, unbounded
allocation, FAIL lines, and an environment without API keys."""
from __future__ import annotations

import os
import sys

import pytest

from deeploop.experiment.decide import crash_reason
from deeploop.experiment.knobs import set_knobs
from deeploop.experiment.runner import kill_timeout, parse_summary, run_training, scrub_env
from deeploop.experiment.warm import WarmStarter

from tests.helpers import PATIENCE, wait_until

from .conftest import FAKE_TRAIN

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


def test_kill_timeout_is_twice_the_budget_plus_a_minute():
    assert kill_timeout(60) == 180 and kill_timeout(300) == 660


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


def trainer(tmp_path, mode, **knobs):
    ws = tmp_path / "ws"
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "train.py").write_text(set_knobs(FAKE_TRAIN, {"MODE": mode, **knobs}))
    return ws


def test_good_run(tmp_path, monkeypatch, start):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    ws = trainer(tmp_path, "env")
    result = run_training(ws, tmp_path / "logs" / "001.log", 5, tmp_path, **start)
    assert crash_reason(result) is None
    assert result.summary["val_bpb"] > 2
    log = (tmp_path / "logs" / "001.log").read_text()
    assert log.splitlines()[0].strip() == "KEYS"  # no key or token reached the trainer
    assert "sk-ant-secret" not in log


@pytest.mark.parametrize("mode, reason", [
    ("garbage", "no summary: val_bpb missing from the output"),
    ("silent", "no summary: val_bpb missing from the output"),
    ("fail", "FAIL: loss nan at step 3"),
    ("error", "exit code 1"),
])
def test_bad_trainers_are_crashes(tmp_path, mode, reason, start):
    result = run_training(trainer(tmp_path, mode), tmp_path / "x.log", 5, tmp_path, **start)
    assert crash_reason(result) == reason


def test_hang_is_killed_after_the_timeout(tmp_path, start):
    result = run_training(trainer(tmp_path, "hang"), tmp_path / "x.log", 5, tmp_path,
                          timeout=1.0, **start)
    assert result.killed == "timeout" and result.wall_seconds >= 1.0  # not before the timeout
    assert crash_reason(result).startswith("timed out")


def test_unbounded_allocation_is_killed_at_the_memory_cap(tmp_path, start):
    result = run_training(trainer(tmp_path, "alloc"), tmp_path / "x.log", 5, tmp_path,
                          memory_cap=300 * 2 ** 20, timeout=PATIENCE, **start)
    assert result.killed == "memory"
    assert crash_reason(result) == "killed: memory use passed the cap"


def test_one_warm_helper_serves_many_experiments(tmp_path):
    starter = WarmStarter(sys.executable, scrub_env(dict(os.environ)), preload=("json",))
    try:
        outcomes = []
        for number, mode in enumerate(["ok", "error", "fail", "ok"]):
            ws = trainer(tmp_path / str(number), mode)
            outcomes.append(crash_reason(run_training(ws, tmp_path / f"{number}.log", 5,
                                                      tmp_path, starter=starter)))
        assert outcomes == [None, "exit code 1", "FAIL: loss nan at step 3", None]
    finally:
        starter.close()
    assert starter.proc.returncode == 0


def test_a_dead_helper_falls_back_to_a_fresh_process(tmp_path):
    starter = WarmStarter(sys.executable, scrub_env(dict(os.environ)), preload=())
    starter.close()
    result = run_training(trainer(tmp_path, "ok"), tmp_path / "x.log", 5, tmp_path,
                          starter=starter)
    assert crash_reason(result) is None


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
