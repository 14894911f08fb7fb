"""Keep/discard/crash decisions and breakthrough thresholds (pure)."""
from __future__ import annotations

import pytest

from deeploop.experiment.decide import breakthroughs, crash_reason, decide_keep, judge
from deeploop.experiment.trainer import TrainResult
from deeploop.experiment.score import Score


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


def test_judge_takes_the_harness_score_and_converts_memory():
    verdict = judge(ok(1.2, 3072.0), Score(1.25), 1.3)
    assert verdict.status == "keep" and verdict.val_bpb == 1.25 and verdict.memory_gb == 3.0
    assert verdict.score_mismatch == 0.05  # printed 1.2, scored 1.25: flagged, never used


def test_a_printed_score_within_rounding_is_no_mismatch():
    assert judge(ok(1.2500004), Score(1.25), 1.3).score_mismatch is None
    assert judge(TrainResult(0, 3.0, {}), Score(1.25), 1.3).score_mismatch is None


@pytest.mark.parametrize("result, reason", [
    (TrainResult(None, 3.0, {}, killed="memory"), "killed: memory use passed the cap"),
    (TrainResult(1, 3.0, {"val_bpb": 1.0}, fail_line="FAIL: loss nan"), "FAIL: loss nan"),
    (TrainResult(2, 3.0, {"val_bpb": 1.0}), "exit code 2"),
])
def test_crash_reasons(result, reason):
    assert crash_reason(result) == reason
    verdict = judge(result, None, 1.0)
    assert verdict.status == "crash" and verdict.reason == reason


def test_a_trainer_stopped_at_the_deadline_is_scored_on_what_it_saved():
    stopped = TrainResult(-15, 75.2, {}, stopped=True, deadline_s=75.0)
    assert crash_reason(stopped) is None
    verdict = judge(stopped, Score(1.4), 1.5)
    assert verdict.status == "keep" and "stopped at the deadline (75 s after launch)" in verdict.reason
    ignored = TrainResult(-9, 80.1, {}, killed="timeout", stopped=True, deadline_s=75.0)
    verdict = judge(ignored, Score(None, "no model saved: train.py wrote no model.pt"), 1.5)
    assert verdict.status == "crash"
    assert verdict.reason == ("no model saved: train.py wrote no model.pt; ignored the stop at "
                              "75 s and was killed 80 s after launch")


@pytest.mark.parametrize("score, reason", [
    (Score(None, "no model saved: train.py wrote no model.pt"),
     "no model saved: train.py wrote no model.pt"),
    (Score(0.0), "nonsense score: val_bpb 0.0"),
    (None, "not scored"),
])
def test_no_score_is_a_crash(score, reason):
    verdict = judge(TrainResult(0, 3.0, {"val_bpb": 1.0}), score, 1.5)
    assert verdict.status == "crash" and verdict.reason == reason and verdict.val_bpb is None


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


def test_noise_sigma_pools_baseline_repeats_with_confirmation_pairs():
    from deeploop.experiment.decide import noise_sigma
    assert noise_sigma([2.0]) is None and noise_sigma([]) is None
    assert noise_sigma([1.0, 3.0]) == pytest.approx(2 ** 0.5)
    # 1 degree of freedom from the repeats (2.0) plus one from the pair (0.5): sqrt(2.5 / 2)
    assert noise_sigma([1.0, 3.0], [(1.0, 2.0)]) == pytest.approx((2.5 / 2) ** 0.5)
    assert noise_sigma([], [(1.0, 2.0)]) == pytest.approx(0.5 ** 0.5)


def test_the_margin_is_in_standard_errors_of_the_difference():
    from deeploop.experiment.decide import noise_min_delta, standard_error
    assert standard_error(1.0, best_runs=4) == pytest.approx(1.25 ** 0.5)
    assert standard_error(1.0, best_runs=2, runs=2) == pytest.approx(1.0)
    assert noise_min_delta(0.01, 2.0, best_runs=1) == round(2 * 0.01 * 2 ** 0.5, 6)
    assert noise_min_delta(None, 2.0) == 0.0


@pytest.mark.parametrize("first, again, status, why", [
    (1.990, 1.990, "keep", "confirmed: the re-run"),         # both runs well below the best
    (1.990, 1.999, "discard", "the re-run 1.999000 gains"),  # a big first gain not repeated
    (1.995, 1.9935, "discard", "the re-run 1.993500 gains"),  # fresh 0.0065 < 0.007303
    (1.999, 1.992, "discard", "mean of two runs 1.995500"),  # fresh clears, mean 0.0045 < 0.005657
])
def test_a_keep_needs_the_fresh_run_and_the_mean_to_clear_their_margins(first, again, status, why):
    from deeploop.experiment.decide import Verdict, confirmed
    from deeploop.experiment.results import RowStatus
    sigma = 0.003266  # against a best of 4 runs: margins 0.007303 (one run), 0.005657 (two)
    verdict = Verdict(RowStatus.DISCARD, "gain", first, 1.0)
    result = confirmed(verdict, again, 2.0, sigma, 2.0, best_runs=4)
    assert result.status == status and why in result.reason, result.reason
    assert result.val_bpb == round((first + again) / 2, 6)
    assert confirmed(verdict, None, 2.0, sigma).status == "discard"  # a crashed re-run
