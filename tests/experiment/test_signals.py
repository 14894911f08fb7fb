"""Signals and kills of the real ``deeploop experiment run``: the trainer's
process group never outlives the harness, the experiment in flight is
recorded as interrupted (never a crash row) and trained again on resume,
and every signal writes ``loop_aborted`` and outcome.json. Waits are
generous and bounded: the machine running the tests may be loaded."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from deeploop.events import read_events
from deeploop.experiment.results import read_results
from tests.helpers import alive

from .test_loop import Scripted, results_of, run_all

WAIT = 120.0  # seconds: bounded, generous for a loaded 2-core machine


def wait_for(predicate, timeout=WAIT, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout:.0f} s")


def cli(tag="t1", *extra, warm=False):
    args = [sys.executable, "-m", "deeploop", "experiment", "run", "--tag", tag, "--resume",
            "--budget", "5", "--meta-interval", "0", "--no-report", "--no-progress", *extra]
    if not warm:
        args.append("--no-warm-start")
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))


def slow_trainer(run, monkeypatch):
    """Make the fake trainer sleep until killed: it waits while ``../slow``
    exists, and the sandbox shows it that one file from outside its walls."""
    slow = run.path / "slow"
    slow.write_text("")
    monkeypatch.setenv("DEEPLOOP_SANDBOX_BIND", str(slow))
    return slow


def group_of(pgid: int) -> list[int]:
    """Pids of the live processes in process group ``pgid`` (Linux /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry))
    return members


def events_of(run, kind):
    return [e for e in read_events(run.events_path).events if e["type"] == kind]


def trainer_pid(run, number=0):
    wait_for(lambda: any(e.get("round") == number for e in events_of(run, "training_started")),
             what=f"training of experiment {number} started")
    return next(e["pid"] for e in events_of(run, "training_started") if e["round"] == number)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process state from /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_every_signal_kills_the_trainer_and_records_the_abort(fake_run, signum, monkeypatch):
    slow_trainer(fake_run, monkeypatch)  # the baseline's trainer sleeps until killed
    proc = cli("t1", "--experiments", "2")
    pid = trainer_pid(fake_run)
    assert alive(pid)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=WAIT)
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err and f"interrupted by {name}" in err
    assert not alive(pid)  # the whole group went before the harness exited
    interrupted = events_of(fake_run, "experiment_interrupted")
    assert [(e["round"], e["kind"], e["reason"]) for e in interrupted] == [
        (0, "baseline", f"interrupted by {name}")]
    assert events_of(fake_run, "loop_aborted")[-1]["reason"] == f"interrupted by {name}"
    outcome = json.loads((fake_run.path / "outcome.json").read_text())
    assert outcome["status"] == "aborted" and outcome["exit_reason"] == f"interrupted by {name}"
    assert read_results(fake_run.results_path).rows == []  # an interruption is no result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_kill_9_of_the_harness_takes_the_trainer_with_it(fake_run, warm, monkeypatch):
    """The recorded pid leads the trainer's process group: in a cold sandbox
    that is bwrap with train.py under it, warm it is the forked trainer.
    Every member of the group goes when the harness is killed."""
    slow = slow_trainer(fake_run, monkeypatch)
    proc = cli("t1", "--experiments", "1", "--noise-runs", "0", warm=warm)
    pid = trainer_pid(fake_run)
    time.sleep(1.0)  # the trainer is well into its sleep: it does not end by itself
    group = group_of(pid)
    assert alive(pid) and pid in group
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=WAIT)  # EOF: every holder of the pipes is gone
    for member in group:
        wait_for(lambda: not alive(member), what=f"the orphaned trainer's process {member} ended")
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert read_results(fake_run.results_path).rows == []  # killed mid-baseline: nothing yet

    slow.unlink()
    proc = cli("t1", "--experiments", "1", "--noise-runs", "0")
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err
    rows = read_results(fake_run.results_path).rows
    assert [r.description for r in rows][0] == "baseline" and len(rows) == 2
    assert "crash" not in [r.status for r in rows]


def test_a_resumed_run_kills_a_stale_trainer_it_finds_recorded(fake_run):
    """Where no parent-death signal exists, resume still stops the old trainer."""
    ws = fake_run.workspace()
    stale = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                             cwd=ws.path, start_new_session=True)
    try:
        log = fake_run.event_log()
        log.emit("experiment_started", round=0, base_commit=ws.head(), kind="baseline",
                 rows_before=0)
        log.emit("training_started", round=0, pid=stale.pid)
        events, results = run_all(fake_run, Scripted(), experiments=0)
        assert stale.wait(timeout=WAIT) == -signal.SIGKILL
        assert events[0]["type"] == "experiment_interrupted"
        assert [r.description for r in results.rows] == ["baseline"]
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait()


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process state from /proc")
def test_kills_at_random_points_then_resume_trains_exactly_what_was_asked(fake_run):
    """kill -9 at random moments, several times; each interrupted experiment is
    trained again, none is recorded as a crash, and the end is as if
    uninterrupted: the baseline, its three noise runs (the default) and
    three experiments, a clean workspace."""
    from .conftest import FAKE_TRAIN, install_trainer
    install_trainer(fake_run, FAKE_TRAIN.replace("SLEEP = 0.0", "SLEEP = 1.0"))  # kills land
    rng = random.Random(int(os.environ.get("DEEPLOOP_KILL_SEED", "11")))     # in training
    for _ in range(4):
        proc = cli("t1", "--experiments", "3")
        time.sleep(rng.uniform(1.0, 5.0))
        proc.kill()
        proc.communicate(timeout=WAIT)
        for event in events_of(fake_run, "training_started"):
            wait_for(lambda: not alive(event["pid"]), what="a killed trainer ended")
    proc = cli("t1", "--experiments", "3")
    _, err = proc.communicate(timeout=WAIT * 2)
    assert proc.returncode == 0, err
    results = read_results(fake_run.results_path)
    assert [r.status for r in results.rows].count("crash") == 0
    assert [r.description for r in results.rows][:4] == [
        "baseline", *(f"baseline (noise run {i}/3)" for i in (1, 2, 3))]
    assert len(results.rows) == 7 and results.problems == []
    assert len(results.experiments()) == 3
    commits = [r.commit for r in results.rows]
    assert len(set(commits[:4])) == 1  # the noise runs measure the baseline's own commit
    assert len(set(commits[3:])) == 4  # each experiment is a commit of its own
    journal = read_events(fake_run.events_path).events
    rounds = [e["round"] for e in results_of(journal) if e["status"] != "rejected"]
    assert rounds == sorted(set(rounds))  # each number has one result
    for event in (e for e in journal if e["type"] == "experiment_interrupted"):
        assert event["round"] in rounds  # every interrupted experiment was trained again
    ws = fake_run.workspace()
    assert not ws.is_dirty() and not ws.untracked()
    assert json.loads((fake_run.path / "outcome.json").read_text())["status"] == "passed"
