"""Stopping between experiments: a stop event (the notebook's Stop button) or a
STOP file ends the run paused after the experiment in flight; resume goes on."""
from __future__ import annotations

import json
import threading

from deeploop.events import read_events
from deeploop.experiment.results import read_results
from deeploop.experiment.rundir import Settings
from deeploop.experiment.trainer import run_training
from deeploop.experiment.resume import run_experiments

from .test_loop import Scripted


def trainer_that(action, on_call: int = 1):
    """The real runner on the fake train.py; ``action()`` runs during call ``on_call``."""
    calls = []

    def train(*args, **kwargs):
        calls.append(1)
        if len(calls) == on_call:
            action()
        return run_training(*args, **kwargs)
    return train


def outcome_of(run) -> dict:
    return json.loads((run.path / "outcome.json").read_text())


def test_stop_event_ends_the_run_after_the_running_experiment(fake_run):
    stop = threading.Event()
    settings = Settings(experiments=3, budget=5, warm_start=False, noise_runs=0)
    events = list(run_experiments(fake_run, settings, proposer=Scripted({"LR": 0.006}),
                                  trainer=trainer_that(stop.set, on_call=2), stop=stop))
    results = read_results(fake_run.results_path)
    assert [r.status for r in results.rows] == ["keep", "keep"]  # the running one finished
    asked = [e for e in events if e["type"] == "stop_requested"]
    assert asked and asked[0]["source"] == "stop event" and asked[0]["after_experiment"] == 1
    outcome = outcome_of(fake_run)
    assert outcome["status"] == "paused"
    assert outcome["exit_reason"] == "stopped by stop event after experiment 1"
    notified = [e.get("kind") for e in read_events(fake_run.events_path).events
                if e["type"] == "notification"]
    assert "done" not in notified  # a stop is a pause: "done" waits for the real end


def test_stop_file_is_consumed_and_resume_goes_on(fake_run):
    settings = Settings(experiments=2, budget=5, warm_start=False, noise_runs=0)
    touch = lambda: fake_run.stop_path.write_text("")  # noqa: E731 - as a shell would
    list(run_experiments(fake_run, settings, proposer=Scripted({"LR": 0.006}),
                         trainer=trainer_that(touch, on_call=1)))
    assert outcome_of(fake_run)["exit_reason"] == "stopped by STOP file after experiment 0"
    assert not fake_run.stop_path.exists()
    assert len(read_results(fake_run.results_path).rows) == 1  # the baseline only

    list(run_experiments(fake_run, settings, proposer=Scripted({"LR": 0.006}, {"LR": 0.001})))
    results = read_results(fake_run.results_path)
    assert [r.status for r in results.rows] == ["keep", "keep", "discard"]
    assert outcome_of(fake_run)["status"] == "passed"


def test_a_stop_before_the_start_trains_nothing(fake_run):
    stop = threading.Event()
    stop.set()
    list(run_experiments(fake_run, Settings(experiments=2, budget=5, warm_start=False, noise_runs=0),
                         proposer=Scripted(), stop=stop))
    assert read_results(fake_run.results_path).rows == []
    assert outcome_of(fake_run)["status"] == "paused"
