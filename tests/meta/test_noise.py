"""--noise-runs K: the baseline is measured K more times, sigma sets the keep
margin (2 sigma) unless --min-delta is given, and the analysis says which
kept changes clear the noise floor."""
from __future__ import annotations

import statistics

import pytest

from deeploop.experiment.results import read_results
from deeploop.experiment.status import load_status
from deeploop.meta.offline import OfflineAnalyst
from deeploop.meta.tier import analyse_run

from .conftest import Values, of_type, run_loop

BASELINES = [2.000, 2.004, 1.996, 2.000]
SIGMA = statistics.stdev(BASELINES)


def scripted(*values):
    queue = list(values)
    return lambda knobs: queue.pop(0)


def test_noise_runs_set_min_delta_to_two_sigma(meta_run):
    events = run_loop(meta_run, experiments=2, noise_runs=3, meta_interval=0,
                      proposer=Values(0.004, 0.005), objective=scripted(*BASELINES, 1.995, 1.99))
    rows = read_results(meta_run.results_path).rows
    assert [r.description for r in rows[:4]] == ["baseline"] + [
        f"baseline (noise run {i}/3)" for i in (1, 2, 3)]
    assert [r.status for r in rows] == ["keep", "discard", "discard", "discard", "discard", "keep"]
    estimate = of_type(events, "noise_estimated")[0]
    assert estimate["sigma"] == pytest.approx(SIGMA)
    assert estimate["min_delta"] == round(2 * SIGMA, 6) and not estimate["min_delta_given"]
    first, second = of_type(events, "experiment_result")[-2:]
    assert first["status"] == "discard" and "not above min-delta 0.006532" in first["reason"]
    assert second["status"] == "keep" and second["min_delta"] == round(2 * SIGMA, 6)
    assert [e.get("noise") for e in of_type(events, "experiment_result")[:4]] == [None, 1, 2, 3]
    status = load_status(meta_run.path)
    assert status.experiments == 2 and status.best.val_bpb == 1.99  # noise runs not counted


def test_a_given_min_delta_wins(meta_run):
    events = run_loop(meta_run, experiments=1, noise_runs=3, min_delta=0.001, meta_interval=0,
                      proposer=Values(0.004), objective=scripted(*BASELINES, 1.995))
    assert of_type(events, "experiment_result")[-1]["status"] == "keep"
    assert of_type(events, "noise_estimated")[0]["min_delta_given"]


def test_resumed_noise_runs_finish_the_count(meta_run):
    run_loop(meta_run, experiments=0, noise_runs=1, meta_interval=0,
             objective=scripted(*BASELINES[:2]))
    run_loop(meta_run, experiments=0, noise_runs=3, meta_interval=0,
             objective=scripted(*BASELINES[2:]))
    rows = read_results(meta_run.results_path).rows
    assert [r.val_bpb for r in rows] == BASELINES and sum(r.is_noise for r in rows) == 3


def test_the_analysis_reports_kept_changes_against_the_noise_floor(meta_run):
    run_loop(meta_run, experiments=3, noise_runs=3, min_delta=0.0, meta_interval=0,
             proposer=Values(0.004, 0.005, 0.006), objective=scripted(*BASELINES, 1.997, 1.98,
                                                                         1.985))
    done = analyse_run(meta_run, OfflineAnalyst())
    assert done.inputs.summary.floor == pytest.approx(2 * SIGMA)
    assert done.event["noise_floor"] == pytest.approx(2 * SIGMA)
    entry = done.plan.entry
    assert f"| Noise floor (2 sigma) | {2 * SIGMA:.6f} |" in entry
    assert "LR 0.004 -> 0.005 (experiment 5): 1.980000" in entry            # above the floor
    assert "kept but within the noise floor (2 sigma = 0.006532): LR 0.003 -> 0.004" in entry
