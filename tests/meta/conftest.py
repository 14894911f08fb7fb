"""Fixtures for the meta tier: experiment runs trained by an in-process
objective (no subprocess, no torch), scripted proposers and analysts."""
from __future__ import annotations

import pytest

from deeploop.experiment.knobs import set_knobs
from deeploop.experiment.proposers import Proposal
from deeploop.experiment.results import parse_results
from deeploop.experiment.rundir import Settings, init_run
from deeploop.meta.analysts import Analysis
from deeploop.experiment.hypotheses import Hypothesis
from deeploop.meta.inputs import build_inputs
from deeploop.meta.tier import run_with_meta
from bench.support.synthetic import objective_scorer, objective_trainer
from tests.experiment.conftest import FAKE_TRAIN, corpus_text

HEAD = "commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"


def bowl(knobs: dict) -> float | None:
    """The fake trainer's surface: best near LR 0.006, DEPTH 6; MODE crash crashes."""
    import math
    if knobs.get("MODE") == "crash":
        return None
    return (2.0 + (math.log10(knobs["LR"]) - math.log10(0.006)) ** 2
            + 0.01 * (knobs["DEPTH"] - 6) ** 2 + 0.0001 * knobs["WIDTH"] / 128)


@pytest.fixture
def meta_run(tmp_path):
    """A fresh experiment run whose train.py is the fake trainer's."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(corpus_text(documents=20, lines=40), encoding="utf-8")
    run = init_run("m1", str(corpus))
    ws = run.workspace()
    ws.write(FAKE_TRAIN)
    ws.commit("fake trainer for tests")
    return run


def run_loop(run, *, objective=bowl, noise=0.0, analyst=None, proposer=None, record=None,
             noise_seed=0, **settings):
    """Run the loop with the meta tier to its end; returns the events."""
    settings = {"budget": 1, "warm_start": False, "noise_runs": 0, **settings}
    trainer = objective_trainer(objective, noise=noise, record=record, seed=noise_seed)
    return list(run_with_meta(run, Settings(**settings), proposer=proposer, trainer=trainer,
                              analyst=analyst, scorer=objective_scorer))


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


class Values:
    """A proposer that sets LR to the given values in order (to script scores)."""

    spec = "values"

    def __init__(self, *values, knob="LR"):
        self.values, self.knob = list(values), knob

    def propose(self, context):
        value = self.values.pop(0)
        old = context.train_py.split(f"{self.knob} = ")[1].split("\n")[0]
        return Proposal(set_knobs(context.train_py, {self.knob: value}),
                        f"{self.knob} {old} -> {value}")


class FixedAnalyst:
    """Five applicable hypotheses, always the same: for steering tests."""

    spec = "fixed"
    CHANGES = ["DEPTH 4 -> 5", "LR 0.003 -> 0.004", "WIDTH 128 -> 96", "DEPTH 4 -> 3",
               "LR 0.003 -> 0.0025"]

    def analyse(self, inputs):
        hyps = [Hypothesis(f"M{inputs.number}.{i}", i, change, "lower val_bpb", "MEDIUM", "test")
                for i, change in enumerate(self.CHANGES, start=1)]
        return Analysis(hyps, "Fixed strategy.", ["w"], ["d"], ["c"], "meta: fixed", self.spec)


def inputs_from(rows: str, **kwargs):
    """MetaInputs from results rows (tab-separated, no header)."""
    return build_inputs(parse_results(HEAD + rows), **kwargs)
