"""--noise-runs K: the baseline is measured K more times, sigma sets the keep
margin (2 sigma) unless --min-delta is given, and the analysis says which
kept changes clear the noise floor."""
from __future__ import annotations

import statistics

import pytest

from deeploop.experiment.results import read_results
from deeploop.experiment.status import load_status
from deeploop.meta.offline_analyst import OfflineAnalyst
from deeploop.meta.tier import analyse_run

from deeploop.experiment.knobs import set_knobs
from deeploop.experiment.proposers import Proposal
from tests.experiment.conftest import FAKE_TRAIN, corpus_text

from .conftest import Values, of_type, run_loop

BASELINES = [2.000, 2.004, 1.996, 2.000]
SIGMA = statistics.stdev(BASELINES)


def scripted(*values):
    queue = list(values)
    return lambda knobs: queue.pop(0)


def test_noise_runs_set_min_delta_to_two_sigma(meta_run):
    events = run_loop(meta_run, experiments=2, noise_runs=3, meta_interval=0, confirm=False,
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


def test_a_gain_between_one_and_two_sigma_is_confirmed_by_a_second_run(meta_run):
    # sigma 0.003266: 1.995 gains 1.5 sigma; the re-run 1.994 makes the mean 1.9945,
    # a gain of 0.0055 > 2 sigma / sqrt 2 = 0.004619: kept with the confirmed figure
    events = run_loop(meta_run, experiments=2, noise_runs=3, meta_interval=0,
                      proposer=Values(0.004, 0.005),
                      objective=scripted(*BASELINES, 1.995, 1.994, 1.9949, 2.003))
    first, second = of_type(events, "experiment_result")[-2:]
    assert first["status"] == "keep" and first["val_bpb"] == 1.9945
    assert first["confirm"] == {"first": 1.995, "again": 1.994, "again_reason": None,
                                "val_bpb": 1.9945}
    assert "confirmed: mean of two runs 1.994500" in first["reason"]
    # 1.9949 gains 0.0004 over 1.9945: below 1 sigma, no re-run; the next value is unused
    assert second["status"] == "discard" and "confirm" not in second
    assert read_results(meta_run.results_path).best().val_bpb == 1.9945


def test_an_unconfirmed_gain_is_discarded(meta_run):
    events = run_loop(meta_run, experiments=1, noise_runs=3, meta_interval=0,
                      proposer=Values(0.004), objective=scripted(*BASELINES, 1.995, 2.002))
    last = of_type(events, "experiment_result")[-1]
    assert last["status"] == "discard" and last["val_bpb"] == 1.9985
    assert "not confirmed" in last["reason"] and last["margin_sigma"] == pytest.approx(
        (2.0 - 1.9985) / SIGMA, abs=1e-3)


def test_no_confirmation_without_noise_runs_or_with_a_given_min_delta(meta_run):
    events = run_loop(meta_run, experiments=1, noise_runs=3, min_delta=0.001, meta_interval=0,
                      proposer=Values(0.004), objective=scripted(*BASELINES, 1.995))
    assert "confirm" not in of_type(events, "experiment_result")[-1]


class Toggle:
    """A zero-effect proposer: moves WIDTH back and forth (the objective ignores it)."""

    spec = "toggle"

    def propose(self, context):
        old = context.train_py.split("WIDTH = ")[1].split("\n")[0]
        new = "96" if old.strip() == "128" else "128"
        return Proposal(set_knobs(context.train_py, {"WIDTH": int(new)}),
                        f"WIDTH {old} -> {new}")


def kept_proposals(events):
    return [e for e in of_type(events, "experiment_result")
            if e["kind"] == "proposal" and e["status"] == "keep"]


def test_noise_keeps_no_zero_effect_change_and_keeps_a_four_sigma_one(tmp_path, monkeypatch):
    """Scores drawn from N(2.0, 0.003) whatever the change (seeded per call).
    A single comparison at 2 sigma lets a zero-effect change through about
    2 % of the time (a one-sided 2-sigma tail on a difference of two runs,
    less with confirmation), so over 40 experiments at most one or two may
    slip through (a keep margin of 0 keeps each new record low, ~ln 40 of
    them, and every one is noise). A change worth 4 sigma is kept every time."""
    from deeploop.experiment.rundir import init_run
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(corpus_text(documents=20, lines=40), encoding="utf-8")
    monkeypatch.setenv("DEEPLOOP_RUNS", str(tmp_path / "runs"))

    def fresh(tag):
        run = init_run(tag, str(corpus))
        run.workspace().write(FAKE_TRAIN)
        run.workspace().commit("fake trainer for tests")
        return run

    flat = fresh("flat")
    events = run_loop(flat, experiments=40, noise_runs=3, meta_interval=0, proposer=Toggle(),
                      objective=lambda knobs: 2.0, noise=0.003)
    assert of_type(events, "noise_estimated")[0]["sigma"] > 0
    assert len(kept_proposals(events)) <= 2
    for seed in range(5):
        run = fresh(f"effect{seed}")
        events = run_loop(run, experiments=1, noise_runs=3, meta_interval=0,
                          proposer=Values(0.004), noise=0.003, noise_seed=seed + 1,
                          objective=lambda knobs: 2.0 - (0.012 if knobs["LR"] == 0.004 else 0))
        assert len(kept_proposals(events)) == 1, seed
