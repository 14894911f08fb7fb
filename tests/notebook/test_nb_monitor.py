"""ExperimentMonitor and ExperimentJob, headless: the loop runs in a thread, the
widgets follow its events, Stop ends the run after the running experiment."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("ipywidgets")

from deeploop.errors import InputError  # noqa: E402
from deeploop.experiment.results import read_results  # noqa: E402
from deeploop.experiment.trainer import run_training  # noqa: E402
from deeploop.notebook.job import ExperimentJob, open_experiment  # noqa: E402
from deeploop.notebook.monitor import ExperimentMonitor  # noqa: E402
from deeploop.runs import runs_root  # noqa: E402
from tests.experiment.conftest import corpus_text, install_trainer  # noqa: E402
from tests.experiment.test_loop import Scripted  # noqa: E402

FAST = {"budget": 5, "warm_start": False}  # the fake trainer needs no torch helper


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(corpus_text(), encoding="utf-8")
    return str(path)


@pytest.fixture
def fake(corpus):
    """An experiment tag whose train.py is the fake trainer."""
    run, _ = open_experiment("mon", data=corpus)
    run.release()  # created to be set up here, run by the monitor under test
    install_trainer(run)
    return run


def test_monitor_follows_the_loop_and_ends_with_the_report(fake):
    monitor = ExperimentMonitor("mon", noise_runs=0, experiments=2, propose_with=Scripted(
        {"LR": 0.006}, {"LR": 0.001}), **FAST)
    assert monitor.bar.value == 0 and "<img" not in monitor.chart.value  # no broken image
    assert "The chart appears with the first result" in monitor.chart.value
    outcome = monitor.start().wait(timeout=120)
    assert outcome["status"] == "passed"
    assert monitor.bar.value == 2 and monitor.bar.max == 2
    best = read_results(fake.results_path).best().val_bpb
    assert monitor.bar_label.value == f"2 / 2 · best val_bpb {best:.6f} · left –"
    assert monitor.chart.value.startswith("<svg") and "currentColor" in monitor.chart.value
    assert "Experiment 2" in monitor.last.value and "discard" in monitor.last.value
    assert monitor.stop_button.disabled and monitor.status_line.startswith("passed: ")
    assert monitor.report_path == fake.path / "report.html" and monitor.report_path.is_file()
    assert f"<code>{monitor.report_path}</code></a>" in monitor.status.value
    assert f'href="{monitor.report_path.as_uri()}"' in monitor.status.value
    html, text = monitor.snapshot()  # the static view: what an executed notebook keeps
    assert "passed: " in html and "<svg" in html and str(monitor.report_path) in html
    assert text.splitlines()[1].startswith("status: passed: ") and "report: " in text
    assert repr(monitor) == text and "<script" not in html


def test_stop_button_ends_after_the_running_experiment(fake):
    holder = {}

    def train(*args, **kwargs):  # the user presses Stop while experiment 1 trains
        if "clicked" not in holder and len(read_results(fake.results_path).rows) == 1:
            holder["clicked"] = True
            holder["monitor"].stop_button.click()
        return run_training(*args, **kwargs)

    monitor = ExperimentMonitor("mon", noise_runs=0, experiments=5, report=False, trainer=train,
                                propose_with=Scripted({"LR": 0.006}, {"LR": 0.001}), **FAST)
    holder["monitor"] = monitor
    outcome = monitor.start().wait(timeout=120)
    assert outcome["status"] == "paused" and outcome["rounds"] == 1
    assert [r.status for r in read_results(fake.results_path).rows] == ["keep", "keep"]
    assert monitor.stop_button.disabled and monitor.bar.value == 1
    assert monitor.status_line.startswith("paused: stopped by stop event after experiment 1")
    monitor.stop_button.click()  # a click queued behind the end changes nothing
    monitor.stop()
    assert monitor.status_line.startswith("paused: ") and monitor.state == "ended"

    again = ExperimentMonitor("mon", noise_runs=0, experiments=2, report=False,
                              propose_with=Scripted({"LR": 0.001}), **FAST)
    assert again.bar.value == 1  # progress so far is read back from the files
    assert again.start().wait(timeout=120)["status"] == "passed" and again.bar.value == 2


def test_hypothesis_under_test_is_shown(fake):
    monitor = ExperimentMonitor("mon", noise_runs=0, report=False, **FAST)
    monitor.update({"type": "experiment_committed", "round": 4, "description": "LR 0.04 -> 0.06",
                    "hypothesis": {"id": "M1.2", "change": "MATRIX_LR 0.04 -> 0.06"}})
    assert monitor.testing.value == ("Experiment 4 tests: LR 0.04 -&gt; 0.06 · M1.2: "
                                     "MATRIX_LR 0.04 -&gt; 0.06")
    monitor.update({"type": "experiment_committed", "round": 5, "description": "DEPTH 4 -> 6",
                    "hypothesis": None})
    assert "(the proposer&#39;s own idea)" in monitor.testing.value  # autoescaped: ' is &#39;


def test_job_raises_what_the_loop_raised(fake):
    class Broken:
        spec = "broken"

        def propose(self, context):
            raise RuntimeError("proposer bug")
    job = ExperimentJob(fake, open_experiment("mon", experiments=2, **FAST)[1],
                        proposer=Broken(), report=False).start()
    with pytest.raises(RuntimeError, match="proposer bug"):
        job.wait(timeout=120)
    outcome = json.loads((fake.path / "outcome.json").read_text())
    assert outcome["status"] == "failed" and "proposer bug" in outcome["exit_reason"]


def test_bad_settings_create_nothing(corpus):
    with pytest.raises(InputError, match="unknown proposer 'magic'"):
        open_experiment("bad", data=corpus, proposer="magic")
    with pytest.raises(InputError, match="--budget must be a positive number"):
        open_experiment("bad", data=corpus, budget=-1)
    assert not (runs_root() / "experiment" / "bad").exists()
    with pytest.raises(InputError, match="call start"):
        ExperimentJob(None, None).wait()


def test_a_session_folder_becomes_the_experiment(corpus):
    folder = runs_root() / "experiment" / "sess"
    folder.mkdir(parents=True)
    (folder / "session.json").write_text('{"status": "running"}')
    run, settings = open_experiment("sess", data=corpus, experiments=3)
    assert run.path == folder and settings.experiments == 3
    assert (folder / "session.json").read_text() == '{"status": "running"}'
    assert (folder / "results.tsv").is_file() and (folder / "workspace" / "train.py").is_file()


def test_the_core_and_the_report_engine_never_import_ipywidgets():
    import subprocess
    import sys
    code = ("import sys, deeploop.cli, deeploop.nodeloop.loop, deeploop.nodeloop.metaloop, deeploop.reporting, "
            "deeploop.notebook, deeploop.notebook.views, deeploop.notebook.job, "
            "deeploop.notebook.report, deeploop.experiment.resume; "
            "sys.exit('ipywidgets' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_held_run_is_refused_and_gets_no_report(fake):
    from deeploop.errors import RunLocked
    from deeploop.fileio import file_lock
    settings = open_experiment("mon", experiments=1, **FAST)[1]
    with file_lock(fake.path / ".lock", wait=False, what="experiment 'mon'"):
        job = ExperimentJob(fake, settings, report=True).start()
        with pytest.raises(RunLocked):
            job.wait(timeout=60)
    assert job.report_path is None and not (fake.path / "report.html").exists()


def test_downstream_code_gets_the_finished_outcome(fake):
    """on_done, await and wait() all give outcome.json once the run has ended."""
    import asyncio
    monitor = ExperimentMonitor("mon", noise_runs=0, experiments=1, report=False,
                                propose_with=Scripted({"LR": 0.006}), **FAST)
    seen = []
    monitor.on_done(seen.append)
    assert monitor.outcome is None
    monitor.start()
    outcome = asyncio.run(asyncio.wait_for(monitor._wait_async(), 120))
    assert outcome["status"] == "passed" and seen == [outcome]
    assert monitor.wait() == outcome == monitor.outcome
    late = []
    monitor.on_done(late.append)  # registered after the end: called at once
    assert late == [outcome]


def test_keyboard_interrupt_in_wait_records_the_experiment_in_flight(fake, capsys):
    """Kernel ▸ Interrupt while wait() blocks: the loop stops, the experiment in
    flight is recorded as interrupted, one line says how to resume."""
    import signal
    import threading
    import time
    training = threading.Event()

    def slow(*args, **kwargs):  # experiment 1 trains "forever" until interrupted
        if read_results(fake.results_path).rows:
            training.set()
            for _ in range(6000):
                time.sleep(0.05)
        return run_training(*args, **kwargs)

    monitor = ExperimentMonitor("mon", noise_runs=0, experiments=3, report=False, trainer=slow,
                                propose_with=Scripted({"LR": 0.006}, {"LR": 0.001}), **FAST)
    main = threading.get_ident()
    threading.Thread(target=lambda: training.wait(120) and signal.pthread_kill(
        main, signal.SIGINT), daemon=True).start()
    outcome = monitor.start().wait(timeout=240)
    assert outcome["status"] == "aborted" and "interrupted" in outcome["exit_reason"]
    assert not monitor.job.running and monitor.state == "ended"
    rows = read_results(fake.results_path).rows
    assert [r.status for r in rows] == ["keep"]  # the one in flight is no result: no row
    from deeploop.events import read_events
    flight = [e for e in read_events(fake.events_path).events
              if e["type"] == "experiment_interrupted"]
    assert [e["round"] for e in flight] == [1]  # recorded, and trained again on resume
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted: experiment 1 recorded as "
                                                   "interrupted") and "--resume" in lines[0]
    again = ExperimentMonitor("mon", noise_runs=0, experiments=1, report=False,
                              propose_with=Scripted({"LR": 0.001}), **FAST)
    assert again.start().wait(timeout=120)["status"] == "passed"  # resumable
