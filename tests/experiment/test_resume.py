"""Kill the loop at any moment, resume: the workspace is back on the best kept
commit, the interrupted experiment is no result (an experiment_interrupted
event, no row) and is trained again under its number, no row is lost or
duplicated, numbering continues."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from deeploop.errors import InputError
from deeploop.events import read_events
from deeploop.experiment.results import read_results
from deeploop.experiment.rundir import Settings
from deeploop.experiment.resume import find_in_flight, run_experiments

from tests.helpers import PATIENCE, wait_until

from .test_loop import Scripted, results_of, run_all

HARNESS = """
import sys
from deeploop.experiment.rundir import open_run, Settings
from deeploop.experiment.resume import run_experiments
for event in run_experiments(open_run("t1"), Settings(budget=5, experiments=3, warm_start=False, noise_runs=0)):
    print(event["type"], event.get("round"), flush=True)
"""


def wait_for(predicate, timeout=PATIENCE):
    wait_until(predicate, "the harness to get there", timeout=timeout)


def test_kill_during_training_then_resume(fake_run):
    env = dict(os.environ)
    harness = subprocess.Popen([sys.executable, "-c", HARNESS], env=env,
                               stdout=subprocess.PIPE, text=True)
    # let the baseline finish, then make experiment 1 hang and kill the harness in it
    wait_for(lambda: len(read_results(fake_run.results_path).rows) == 1)
    (fake_run.path / "slow").write_text("")
    wait_for(lambda: any(e["type"] == "training_started" and e.get("round") == 1
                         for e in read_events(fake_run.events_path).events))
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    journal = read_events(fake_run.events_path).events
    pid = next(e["pid"] for e in journal if e["type"] == "training_started" and e["round"] == 1)
    base = next(e for e in journal if e["type"] == "experiment_started" and e["round"] == 1)
    (fake_run.path / "slow").unlink()

    killed = next(e for e in journal if e["type"] == "experiment_committed" and e["round"] == 1)

    proposer = Scripted({"DEPTH": 5}, {"DEPTH": 6})
    events, results = run_all(fake_run, proposer, experiments=3)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
             open(f"/proc/{pid}/stat").read().split()[2] == "Z")
    interrupted = events[0]
    assert interrupted["type"] == "experiment_interrupted" and interrupted["round"] == 1
    assert interrupted["reason"] == "interrupted" and interrupted["commit"] == killed["commit"]
    rerun = results_of(events)[0]  # the same change, trained again under its number
    assert rerun["round"] == 1 and rerun["status"] in ("keep", "discard")
    assert rerun["description"] == killed["description"]
    assert rerun["proposal"]["rerun_of"] == killed["commit"]
    assert len(proposer.contexts) == 2  # the proposer was asked for 2 and 3 only
    assert [e["round"] for e in results_of(events)] == [1, 2, 3]
    assert [r.status for r in results.rows][0] == "keep" and len(results.rows) == 4
    assert "crash" not in [r.status for r in results.rows]
    commits = [r.commit for r in results.rows]
    assert len(commits) == len(set(commits))  # nothing duplicated
    ws = fake_run.workspace()
    assert not ws.is_dirty()
    assert ws.git("cat-file", "-t", base["base_commit"]).strip() == "commit"


def truncate_events_before(run, type_, round_):
    lines = run.events_path.read_text().splitlines(keepends=True)
    keep = []
    for line in lines:
        event = json.loads(line)
        if event["type"] == type_ and event.get("round") == round_:
            break
        keep.append(line)
    run.events_path.write_text("".join(keep))


def test_killed_after_row_before_reset(fake_run):
    """The row reached results.tsv, the reset and the event did not."""
    _, results = run_all(fake_run, Scripted({"DEPTH": 5}, {"DEPTH": 4}), experiments=2)
    assert [r.status for r in results.rows] == ["keep", "keep", "discard"]
    ws = fake_run.workspace()
    kept = ws.head()
    discarded = ws.resolve(results.rows[2].commit)
    ws.reset_hard(discarded)  # as if killed before the reset
    truncate_events_before(fake_run, "experiment_result", 2)

    events, after = run_all(fake_run, Scripted({"DEPTH": 7}), experiments=3)
    recovered = results_of(events)[0]
    assert recovered["round"] == 2 and recovered["status"] == "discard"
    assert recovered["reason"] == "recorded before an interruption"
    assert [r.status for r in after.rows] == ["keep", "keep", "discard", "discard"]
    assert results_of(events)[1]["round"] == 3
    assert ws.head() == kept


def test_killed_after_proposal_written_before_commit(fake_run):
    run_all(fake_run, Scripted({"DEPTH": 5}), experiments=1)
    ws = fake_run.workspace()
    best = ws.head()
    log = fake_run.event_log()
    log.emit("experiment_started", round=2, base_commit=best, kind="proposal", rows_before=2)
    ws.write(ws.read().replace("DEPTH = 5", "DEPTH = 9"))  # the proposal, never committed
    assert find_in_flight(read_events(fake_run.events_path).events)["round"] == 2

    events, results = run_all(fake_run, Scripted({"DEPTH": 6}), experiments=2)
    assert events[0]["type"] == "experiment_interrupted" and events[0]["commit"] is None
    assert results_of(events)[0]["round"] == 2  # nothing committed: a fresh proposal
    assert [r.description for r in results.rows] == ["baseline", "DEPTH -> 5", "DEPTH -> 6"]
    assert ws.head()[:7] == results.rows[-1].commit != best[:7]
    assert not ws.is_dirty() and "DEPTH = 6" in ws.read()


def test_ctrl_c_records_the_experiment_at_once(fake_run):
    calls = []

    def interrupted_trainer(*args, **kwargs):
        from deeploop.experiment.trainer import run_training
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return run_training(*args, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        list(run_experiments(fake_run, Settings(budget=5, experiments=2, warm_start=False, noise_runs=0),
                             proposer=Scripted({"DEPTH": 5}), trainer=interrupted_trainer))
    results = read_results(fake_run.results_path)
    assert [r.status for r in results.rows] == ["keep"]  # an interruption is not a result
    journal = read_events(fake_run.events_path).events
    assert [e["round"] for e in journal if e["type"] == "experiment_interrupted"] == [1]
    assert journal[-1]["type"] == "loop_aborted"
    ws = fake_run.workspace()
    assert "DEPTH = 4" in ws.read() and not ws.is_dirty()
    outcome = json.loads((fake_run.path / "outcome.json").read_text())
    assert outcome["status"] == "aborted" and outcome["rounds"] == 0

    events, results = run_all(fake_run, Scripted({"DEPTH": 6}), experiments=2)
    assert [(e["round"], e["description"]) for e in results_of(events)] == [
        (1, "DEPTH -> 5"), (2, "DEPTH -> 6")]  # the interrupted change first, then a new one


def test_dirty_workspace_is_refused_untouched(fake_run):
    ws = fake_run.workspace()
    edited = ws.read() + "\n# a person's edit\n"
    ws.write(edited)
    before = fake_run.events_path.read_text()
    with pytest.raises(InputError, match="uncommitted changes"):
        run_all(fake_run, Scripted({"DEPTH": 5}), experiments=1)
    assert ws.read() == edited
    assert fake_run.events_path.read_text() == before
    assert len(read_results(fake_run.results_path).rows) == 0


def test_a_full_disk_interrupts_the_experiment_and_resume_trains_it_again(fake_run,
                                                                        monkeypatch):
    """A full disk used to leave a permanent 0.000000 crash row."""
    import errno
    import deeploop.experiment.loop as loop_module
    original = loop_module.append_row
    calls = []

    def full_disk(path, row):
        calls.append(row.description)
        if len(calls) == 2:  # the first proposal's row
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return original(path, row)

    monkeypatch.setattr(loop_module, "append_row", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run_all(fake_run, Scripted({"DEPTH": 5}), experiments=1)
    results = read_results(fake_run.results_path)
    assert [r.description for r in results.rows] == ["baseline"]  # no crash row
    journal = read_events(fake_run.events_path).events
    interrupted = [e for e in journal if e["type"] == "experiment_interrupted"]
    assert [(e["round"], e["description"]) for e in interrupted] == [(1, "DEPTH -> 5")]
    assert "No space left on device" in interrupted[0]["reason"]
    assert json.loads((fake_run.path / "outcome.json").read_text())["status"] == "failed"
    assert "DEPTH = 4" in fake_run.workspace().read()

    events, results = run_all(fake_run, Scripted(), experiments=1)  # no new proposal needed
    assert [(e["round"], e["description"], e["status"]) for e in results_of(events)] == [
        (1, "DEPTH -> 5", "keep")]
    assert [r.description for r in results.rows] == ["baseline", "DEPTH -> 5"]
