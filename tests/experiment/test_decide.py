"""Keep/discard/crash decisions and breakthrough thresholds (pure)."""
from __future__ import annotations

import pytest

from deeploop.experiment.decide import breakthroughs, crash_reason, decide_keep, judge
from deeploop.experiment.runner import TrainResult


def ok(val=1.5, mem=2048.0):
    return TrainResult(0, 70.0, {"val_bpb": val, "peak_vram_mb": mem})


@pytest.mark.parametrize("val, best, delta, status", [
    (1.4, None, 0.0, "keep"),
    (1.4, 1.5, 0.0, "keep"),
    (1.5, 1.5, 0.0, "discard"),     # equal is not better
    (1.6, 1.5, 0.0, "discard"),
    (1.45, 1.5, 0.05, "discard"),   # a gain of exactly min-delta is not enough
    (1.449, 1.5, 0.05, "keep"),
])
def test_decide_keep(val, best, delta, status):
    assert decide_keep(val, best, delta)[0] == status


def test_judge_converts_memory_and_keeps_the_score():
    verdict = judge(ok(1.2, 3072.0), 1.3)
    assert verdict.status == "keep" and verdict.val_bpb == 1.2 and verdict.memory_gb == 3.0


@pytest.mark.parametrize("result, reason", [
    (TrainResult(None, 190.0, {}, killed="timeout"), "timed out: killed after 190 s"),
    (TrainResult(None, 3.0, {}, killed="memory"), "killed: memory use passed the cap"),
    (TrainResult(1, 3.0, {"val_bpb": 1.0}, fail_line="FAIL: loss nan"), "FAIL: loss nan"),
    (TrainResult(2, 3.0, {"val_bpb": 1.0}), "exit code 2"),
    (TrainResult(0, 3.0, {}), "no summary: val_bpb missing from the output"),
    (TrainResult(0, 3.0, {"val_bpb": 0.0}), "nonsense score: val_bpb 0.0"),
])
def test_crash_reasons(result, reason):
    assert crash_reason(result) == reason
    assert judge(result, 1.0).status == "crash"


def test_breakthroughs_relative_to_the_baseline():
    thresholds = {"breakthrough": 0.01, "major_breakthrough": 0.03}
    assert breakthroughs(2.0, 1.99, thresholds) == []
    assert breakthroughs(2.0, 1.98, thresholds) == ["breakthrough"]
    assert breakthroughs(2.0, 1.94, thresholds) == ["breakthrough", "major_breakthrough"]
    assert breakthroughs(None, 1.0, thresholds) == [] and breakthroughs(2.0, 0.0, thresholds) == []


def test_training_warnings_flag_zero_steps_and_far_over_budget():
    from deeploop.experiment.decide import training_warnings
    assert training_warnings({"num_steps": 120, "training_seconds": 60.3}, 60) == []
    assert training_warnings({}, 60) == []  # a train.py that prints neither: nothing to say
    [zero] = training_warnings({"num_steps": 0, "training_seconds": 3.0}, 3)
    assert "zero optimiser steps" in zero
    [over] = training_warnings({"num_steps": 5, "training_seconds": 14.2}, 4)
    assert "14.2 s, far over the 4 s budget" in over
    assert len(training_warnings({"num_steps": 0, "training_seconds": 100.0}, 10)) == 2


def test_status_lists_flagged_experiments():
    from deeploop.experiment.results import Results
    from deeploop.experiment.status import format_status, summarize
    events = [{"type": "experiment_result", "round": 0, "status": "keep", "timing": {}},
              {"type": "experiment_result", "round": 1, "status": "discard", "timing": {},
               "warnings": ["zero optimiser steps: the score is the untrained model's"]}]
    status = summarize(Results(path=None, header=[], rows=[]), events, "t")
    text = format_status(status)
    assert "flagged:      1 experiment(s)" in text and "rounds 1" in text
    assert status.to_json()["flagged"] == [{"round": 1, "warnings": events[1]["warnings"]}]
