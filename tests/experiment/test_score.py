"""The harness's scorer forked from a warm helper scores exactly as a fresh
process does, serves one experiment after another, and still reports a
train.py that cannot be scored (with the fake trainer: no torch)."""
from __future__ import annotations

import os
import sys

import pytest

from deeploop.experiment.trainer import run_training, scrub_env, trainer_env
from deeploop.experiment.score import score_model
from deeploop.experiment.warm import WarmStarter

from .conftest import FAKE_TRAIN, fake_bpb


@pytest.fixture
def trained(fake_run):
    ws = fake_run.workspace().path
    result = run_training(ws, fake_run.path / "logs" / "000.log", 1, fake_run.data_dir)
    assert result.returncode == 0 and (ws / "model.pt").is_file()
    return fake_run


@pytest.fixture
def starter():
    helper = WarmStarter(sys.executable, scrub_env(dict(os.environ)), preload=())
    yield helper
    helper.close()


def score(run, starter=None, seed=0):
    return score_model(run.workspace().path, run.data_dir, log_path=run.path / "logs" / "000.log",
                       env=trainer_env(1, run.data_dir), starter=starter, seed=seed)


def test_a_warm_scorer_agrees_with_a_fresh_one_experiment_after_experiment(trained, starter):
    cold = score(trained)
    assert cold.reason is None and not cold.detail["warm"]
    assert cold.val_bpb == pytest.approx(fake_bpb(trained), abs=1e-6)
    for _ in range(2):  # the helper forks a new scorer each time, and reports its exit
        warm = score(trained, starter)
        assert warm.reason is None and warm.detail["warm"]
        assert warm.val_bpb == pytest.approx(cold.val_bpb, abs=1e-12)
        assert warm.detail["causal_probes"] == cold.detail["causal_probes"] > 0
    assert starter.proc.poll() is None


def test_a_warm_scorer_reports_what_train_py_gets_wrong_and_serves_on(trained, starter):
    ws = trained.workspace().path
    broken = FAKE_TRAIN.replace("def load_model(path):", "def load_model(path):\n"
                                "    print('loading weights')\n"
                                "    raise RuntimeError('no weights here')")
    (ws / "train.py").write_text(broken)
    failed = score(trained, starter)
    assert failed.val_bpb is None
    assert failed.reason == "scoring failed: RuntimeError: no weights here"
    peek = FAKE_TRAIN.replace(
        "return [[row] * len(window) for window in x]",
        "return [[[3.0 * (v == window[min(t + 1, len(window) - 1)]) for v in range(256)]\n"
        "             for t in range(len(window))] for window in x]  # the next byte: a cheat")
    assert peek != FAKE_TRAIN
    (ws / "train.py").write_text(peek)
    assert score(trained, starter).reason.startswith("scoring failed: non-causal")
    (ws / "train.py").write_text(FAKE_TRAIN)
    assert score(trained, starter).val_bpb == pytest.approx(fake_bpb(trained), abs=1e-6)
    log = (trained.path / "logs" / "000.log").read_text()
    assert "loading weights" in log  # train.py's prints go to the experiment's log


def test_a_dead_helper_falls_back_to_a_fresh_scorer(trained, starter):
    starter.proc.kill()
    starter.proc.wait()
    again = score(trained, starter)
    assert again.reason is None and not again.detail["warm"]
    assert again.val_bpb == pytest.approx(fake_bpb(trained), abs=1e-6)


def test_a_logprobs_that_takes_keep_is_told_how_many_positions_count(trained, starter):
    """Windows slide by half a context: a logprobs(model, x, keep) may return
    only the last ``keep`` positions, and scores the same."""
    ws = trained.workspace().path
    told = FAKE_TRAIN.replace(
        "def logprobs(model, x):\n    w = model[\"w\"]",
        "def logprobs(model, x, keep):\n    assert 0 < keep <= len(x[0])\n    w = model[\"w\"]"
    ).replace("return [[row] * len(window) for window in x]", "return [[row] * keep for _ in x]")
    assert "keep" in told and "[[row] * keep" in told
    (ws / "train.py").write_text(told)
    for helper in (None, starter):
        result = score(trained, helper)
        assert result.reason is None
        assert result.val_bpb == pytest.approx(fake_bpb(trained), abs=1e-6)
    assert result.detail["cpu_s"] > 0  # the helper says what the warm scorer cost in CPU
