"""A harness killed with SIGKILL leaves running.json: the tag is listed stale,
and the next run takes it over with a ``run_stale`` event (issue 11)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from deeploop.events import read_events
from deeploop.liveness import RUNNING_FILE
from deeploop.runs import load_run

from .test_loop import Scripted, run_all
from .test_resume import HARNESS, wait_for


def test_a_killed_harness_is_stale_then_taken_over(fake_run):
    harness = subprocess.Popen([sys.executable, "-c", HARNESS], env=dict(os.environ),
                               stdout=subprocess.DEVNULL)
    (fake_run.path / "slow").write_text("")  # the baseline hangs: kill the harness in it
    wait_for(lambda: any(e["type"] == "training_started"
                         for e in read_events(fake_run.events_path).events), timeout=240)
    assert load_run(fake_run.path).status == "running"
    harness.send_signal(signal.SIGKILL)
    harness.wait(timeout=240)
    record = load_run(fake_run.path)
    assert record.status == "stale"
    assert record.status_reason.startswith(f"process {harness.pid} on ")
    (fake_run.path / "slow").unlink()
    run_all(fake_run, Scripted({"DEPTH": 5}), experiments=1)
    stale = read_events(fake_run.events_path).of_type("run_stale")
    assert len(stale) == 1 and stale[0]["pid"] == harness.pid
    assert not (fake_run.path / RUNNING_FILE).exists()
    assert load_run(fake_run.path).status != "stale"
