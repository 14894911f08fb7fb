"""Resume refuses a results.tsv that disagrees with the events (one line that
says how to repair it, before anything is trained or appended); ``--resume``
means resume; repeating a killed command continues it; a killed write leaves
no temporary file in the workspace."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from deeploop.errors import InputError, NotFound
from deeploop.events import read_events
from deeploop.meta.opening import open_experiment
from deeploop.experiment.results import read_results

from .test_loop import Scripted, run_all
from .test_signals import WAIT, alive, cli, events_of, slow_trainer, trainer_pid


def deeploop(*args, timeout=WAIT):
    return subprocess.run([sys.executable, "-m", "deeploop", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))


RESUME = ("experiment", "run", "--tag", "t1", "--resume", "--budget", "5", "--experiments",
          "3", "--no-warm-start", "--meta-interval", "0", "--no-report", "--no-progress")


@pytest.fixture
def two_done(fake_run):
    run_all(fake_run, Scripted({"DEPTH": 5}, {"DEPTH": 3}), experiments=2)
    assert len(read_results(fake_run.results_path).rows) == 3
    return fake_run


def assert_refused_untouched(run, damage, pattern):
    damage(run.results_path)
    before = (run.results_path.read_bytes(), run.events_path.read_bytes(),
              run.workspace().head())
    proc = deeploop(*RESUME)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and pattern in proc.stderr
    assert "deeploop experiment repair --tag t1" in proc.stderr
    assert (run.results_path.read_bytes(), run.events_path.read_bytes(),
            run.workspace().head()) == before  # nothing trained, appended or reset
    with pytest.raises(InputError, match="repair"):  # the library refuses the same way
        run_all(run, Scripted({"DEPTH": 7}), experiments=3)


def test_an_emptied_results_file_is_refused_and_repaired(two_done):
    """It used to re-measure HEAD (a kept change) and append it as the baseline."""
    assert_refused_untouched(two_done, lambda p: p.write_text(""), "is empty but events.jsonl "
                             "records 3 experiments")
    proc = deeploop("experiment", "repair", "--tag", "t1")
    assert proc.returncode == 0 and "3 rows" in proc.stdout, proc.stderr
    rows = read_results(two_done.results_path).rows
    assert [r.status for r in rows] == ["keep", "keep", "discard"]
    assert rows[0].description == "baseline" and rows[1].description == "DEPTH -> 5"
    assert (two_done.path / "results.tsv.damaged").read_text() == ""
    proc = deeploop(*RESUME, "--noise-runs", "0")  # the repaired run goes on: one experiment more
    assert proc.returncode == 0, proc.stderr
    assert len(read_results(two_done.results_path).rows) == 4


def test_a_header_without_description_is_refused(two_done):
    """It used to train, append to the file, then report 'the baseline crashed'."""
    def drop_description(path):
        lines = path.read_text().splitlines()
        path.write_text("\n".join("\t".join(line.split("\t")[:4]) for line in lines) + "\n")
    assert_refused_untouched(two_done, drop_description, "has no description column")


def test_rows_cut_off_are_refused(two_done):
    def cut(path):
        path.write_text("".join(path.read_text().splitlines(keepends=True)[:3]))
    assert_refused_untouched(two_done, cut, "lacks the row of experiment 2")


def test_rows_a_person_added_are_allowed(two_done):
    with open(two_done.results_path, "a") as fh:
        fh.write("abcdef0\t1.900000\t1.0\tdiscard\tmy own try on another machine\n")
    events, results = run_all(two_done, Scripted({"DEPTH": 7}), experiments=3)
    assert len(results.rows) == 5


def test_resume_of_a_tag_that_does_not_exist_is_refused(runs_root):
    proc = deeploop("experiment", "run", "--tag", "typo", "--resume", "--budget", "5")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"deeploop experiment: no experiment tagged 'typo' to resume under "
        f"{runs_root / 'experiment'} (without --resume a new tag is created)"]
    assert not (runs_root / "experiment" / "typo").exists()
    with pytest.raises(NotFound):
        open_experiment("typo", resume=True)


def test_the_same_command_repeated_after_a_kill_continues(runs_root, corpus_file, monkeypatch):
    """``experiment run --tag again`` (no --resume), killed, repeated: it goes on.

    The tag is made as that command makes it (``created_by="run"``), with the
    fast trainer committed in it; the command is then killed before its loop
    began (nothing ran) and again while training the baseline."""
    from deeploop.experiment.rundir import init_run
    from .conftest import install_trainer
    args = ("experiment", "run", "--tag", "again", "--data", str(corpus_file), "--budget", "5",
            "--experiments", "1", "--no-warm-start", "--meta-interval", "0", "--no-report",
            "--no-progress", "--noise-runs", "0")
    run = init_run("again", str(corpus_file), created_by="run")
    install_trainer(run)
    slow = slow_trainer(run, monkeypatch)
    proc = subprocess.Popen([sys.executable, "-m", "deeploop", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    pid = trainer_pid(run, 0)
    assert alive(pid)  # killed while training the baseline
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=WAIT)
    slow.unlink()
    again = deeploop(*args)  # the very same command, no --resume
    assert again.returncode == 0, again.stderr
    assert not alive(pid)
    rows = read_results(run.results_path).rows
    assert rows[0].description == "baseline" and len(rows) == 2
    assert "crash" not in [r.status for r in rows]
    assert [e["round"] for e in events_of(run, "experiment_interrupted")] == [0]
    done = deeploop(*args)  # finished: now the same command is refused
    assert done.returncode == 2 and "use --resume to continue it" in done.stderr


def test_a_tag_only_initialised_still_needs_resume(runs_root, corpus_file):
    made = deeploop("experiment", "init", "--tag", "fresh", "--data", str(corpus_file))
    assert made.returncode == 0, made.stderr
    proc = deeploop("experiment", "run", "--tag", "fresh", "--budget", "5")
    assert proc.returncode == 2 and "use --resume to continue it" in proc.stderr


def test_a_killed_atomic_write_leaves_nothing_in_the_workspace(two_done):
    """Nor does the saved model show as content, in a workspace made before
    model.pt was excluded either (the exclusion is added on start)."""
    ws = two_done.workspace()
    exclude = ws.path / ".git" / "info" / "exclude"
    exclude.write_text("".join(line for line in exclude.read_text().splitlines(keepends=True)
                               if "model.pt" not in line))  # as an older workspace has it
    for name in (".program.md.k2j3h4.tmp", ".process_log.md.x1.tmp", ".train.py.abc.tmp"):
        (ws.path / name).write_text("half a file")  # what a kill between write and rename leaves
    (ws.path / "model.pt.tmp").write_text("half a model")  # a trainer killed while saving
    run_all(two_done, Scripted({"DEPTH": 7}), experiments=3)
    assert not list(ws.path.glob(".*.tmp"))
    assert (ws.path / "model.pt").is_file()  # the last trained model: an artifact, not content
    assert ws.untracked() == {"next-hypotheses.md"} or ws.untracked() == set()
    (ws.path / ".program.md.late.tmp").write_text("a write in progress")
    assert ws.git("status", "--porcelain").strip() == ""  # never shown as untracked


def test_a_resume_started_as_a_new_tag_appears_cannot_take_it_over(runs_root, corpus_file,
                                                                   monkeypatch):
    """``experiment run`` renames the new tag into place, then its loop holds it:
    a --resume of the tag in that moment is refused as in use and changes
    nothing; the new tag runs as its creator asked (it used to be run by the
    resume, with the resume's settings, and the creator refused)."""
    from bench.support.synthetic import objective_scorer, objective_trainer
    from deeploop.errors import RunLocked
    from deeploop.experiment import resume
    from deeploop.meta.tier import run_with_meta
    from deeploop.runs import read_outcome
    quick = {"budget": 1, "warm_start": False, "noise_runs": 0, "proposer": "offline"}
    loop = {"trainer": objective_trainer(lambda knobs: 2.0, noise=0.0),
            "scorer": objective_scorer}
    tries = []
    real_hold = resume.hold

    def hold(run, check=None, **kw):  # the moment between the creation and the loop's hold
        if not tries:
            tries.append("resuming")  # the resume's own hold goes straight through
            try:
                again, settings = open_experiment("new", resume=True, experiments=3, **quick)
                tries.append(list(run_with_meta(again, settings, **loop)))
            except RunLocked as exc:
                tries.append(exc)
        return real_hold(run, check, **kw)

    monkeypatch.setattr(resume, "hold", hold)
    run, settings = open_experiment("new", data=str(corpus_file), resume=False, experiments=1,
                                    keep_lock=True, **quick)  # as `experiment run` does
    events = list(run_with_meta(run, settings, **loop))
    _, refused = tries
    assert isinstance(refused, RunLocked), refused
    assert "experiment 'new' is in use by another process" in str(refused)
    assert run.settings().experiments == 1  # the refused resume saved nothing
    journal = read_events(run.events_path).events
    assert [e["type"] for e in journal].count("experiment_run_started") == 1
    assert [e["type"] for e in events][0] == "experiment_run_started"
    outcome = read_outcome(run.path)[0]
    assert (outcome["status"], outcome["run_number"]) == ("passed", 1), outcome
    assert len(read_results(run.results_path).rows) == 2  # the baseline and one experiment
    monkeypatch.setattr(resume, "hold", real_hold)
    again, settings = open_experiment("new", resume=True, experiments=2, **quick)
    list(run_with_meta(again, settings, **loop))  # the lock was let go: a later resume goes on
    assert len(read_results(run.results_path).rows) == 3
