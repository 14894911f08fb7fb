"""Stale runs are detected (issue 11; item 12: a batch session killed with
SIGKILL stayed ``running`` forever).

A running run holds ``running.json`` (pid, host, process start, heartbeat);
a run whose process is gone is listed ``stale`` and is taken over, with one
line, when it is started again. The kill tests use the real command line.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from deeploop.cli import main
from deeploop.liveness import RUNNING_FILE, Heartbeat, check, judge, pid_alive, read_record
from tests.helpers import REPO

WAIT = 240
HERE = socket.gethostname()


def always(pid, start):
    return True


def never(pid, start):
    return False


# ----- the decision ----------------------------------------------------------

def test_on_this_host_the_pid_decides():
    record = {"pid": 41, "host": HERE, "beat": 0.0, "interval": 30}
    assert judge(record, host=HERE, now=1e9, alive=always).state == "running"
    gone = judge(record, host=HERE, now=1.0, alive=never)
    assert gone.stale and gone.reason == f"process 41 on {HERE} is gone"


def test_on_another_host_the_heartbeat_decides_after_three_intervals():
    record = {"pid": 41, "host": "elsewhere", "beat": 1000.0, "interval": 30}
    assert judge(record, host=HERE, now=1089.0, alive=never).state == "running"
    late = judge(record, host=HERE, now=1091.0, alive=always)
    assert late.stale and late.reason == "no heartbeat from process 41 on elsewhere for 91 s"


def test_a_torn_record_is_stale():
    assert judge({}, host=HERE, now=0.0).stale


def test_a_recycled_pid_is_not_the_same_process():
    me = os.getpid()
    assert pid_alive(me)
    assert not pid_alive(me, start="-1")  # the same pid with another start time


def test_a_heartbeat_is_written_refreshed_and_removed(tmp_path):
    path = tmp_path / RUNNING_FILE
    with Heartbeat(path, interval=0.05):
        first = read_record(path)
        assert first["pid"] == os.getpid() and first["host"] == HERE
        deadline = time.monotonic() + 30
        while read_record(path)["beat"] == first["beat"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert check(path).state == "running"
    assert not path.exists()


# ----- real processes killed -------------------------------------------------

def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "deeploop", *args]


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the command and what it started (a model command), as a crash would."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=WAIT)


@pytest.fixture
def slow_answerer(tmp_path) -> str:
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(600)\nprint('a deeper cause')\n")
    return f"command:{sys.executable} {script}"


def test_a_killed_drill_is_listed_stale_and_resumed_with_one_line(runs_root, slow_answerer,
                                                                  tmp_path, capsys):
    proc = subprocess.Popen(cli("drill", "a claim", "--run-id", "k", "--answerer",
                                slow_answerer, "--quiet", "--no-report"), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    run_dir = runs_root / "deeper" / "k"
    wait_for(lambda: (run_dir / RUNNING_FILE).exists(), "the drill to start")
    assert main(["runs", "deeper"]) == 0
    assert " running " in capsys.readouterr().out
    kill(proc)
    assert main(["runs", "deeper"]) == 0
    assert " stale " in capsys.readouterr().out
    assert main(["show", "k"]) == 0
    assert f"status   stale (process {proc.pid} on {HERE} is gone" in capsys.readouterr().out
    answers = tmp_path / "answers.txt"
    answers.write_text("a deeper cause\n")
    assert main(["drill", "--resume", "k", "--answers", str(answers), "--quiet",
                 "--no-report"]) == 0
    err = capsys.readouterr().err
    assert err.count("stopped without finishing") == 1 and f"process {proc.pid}" in err
    assert not (run_dir / RUNNING_FILE).exists()
    stale = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()
             if '"run_stale"' in line]  # harness.hold's takeover, as for every loop
    assert stale[0]["reason"] == f"process {proc.pid} on {HERE} is gone"
    assert main(["runs", "deeper"]) == 0
    assert " paused " in capsys.readouterr().out


def test_a_killed_node_loop_is_listed_stale(runs_root, commit_node, seed_file, tmp_path, capsys):
    slow = tmp_path / "slow.sh"
    slow.write_text("#!/bin/sh\nsleep 600\n")
    slow.chmod(0o755)
    proc = subprocess.Popen(cli("loop", "commit-msg", "--seed", str(seed_file), "--model",
                                f"command:{slow}", "--run-id", "slow", "--no-report"),
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    run_dir = runs_root / "commit-msg" / "slow"
    wait_for(lambda: (run_dir / RUNNING_FILE).exists(), "the loop to start")
    kill(proc)
    assert main(["runs", "commit-msg"]) == 0
    out = capsys.readouterr().out
    assert "slow" in out and " stale " in out


def test_a_batch_session_killed_with_sigkill_is_not_running_forever(runs_root, tmp_path):
    from deeploop.notebook.session import SESSION_NOTEBOOK, read_status
    notebook = REPO / "tests" / "notebook" / "data" / "sleeps.ipynb"
    out = tmp_path / "session"
    proc = subprocess.Popen(cli("session", str(notebook), "-p", "seconds", "600",
                                "--out", str(out), "--no-progress"), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_for(lambda: (read_status(out / SESSION_NOTEBOOK) or {}).get("status") == "running",
                 "the session to start")
    finally:
        kill(proc)  # the session and its kernel
    status = read_status(out / SESSION_NOTEBOOK)
    assert status["status"] == "stale"
    assert status["error"] == f"stopped without finishing: process {proc.pid} on {HERE} is gone"
    recorded = json.loads((out / "session.json").read_text())
    assert recorded["status"] == "running"  # reading changes nothing recorded


def test_a_killed_research_run_is_taken_over_with_one_line_and_an_event(runs_root, capsys):
    args = ("research", "run", "--topic", "structured concurrency", "--entries", "40",
            "--no-report", "--no-progress")
    for attempt in range(3):
        tag = f"r{attempt}"
        proc = subprocess.Popen(cli(args[0], args[1], "--tag", tag, *args[2:]), cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        running = runs_root / "research" / tag / RUNNING_FILE
        wait_for(lambda: running.exists() or proc.poll() is not None, "the run to start")
        kill(proc)
        if running.exists():
            break
    else:
        pytest.skip("the research run finished before it could be killed, three times")
    assert main(["runs", "research"]) == 0
    listing = capsys.readouterr().out
    assert " stale " in listing, listing
    code = main(["research", "run", "--tag", tag, "--entries", "1", "--no-report",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert err.count(f"research '{tag}': its last run stopped without finishing (process "
                     f"{proc.pid} on {HERE} is gone, started ") == 1, err
    events = [json.loads(line) for line in
              (runs_root / "research" / tag / "events.jsonl").read_text().splitlines()]
    stale = [e for e in events if e["type"] == "run_stale"]
    assert len(stale) == 1 and stale[0]["pid"] == proc.pid
    assert not running.exists()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=WAIT)
    return proc.pid


def test_a_stale_research_run_with_a_left_git_lock_goes_on(runs_root, capsys):
    """A kill in the middle of a git commit leaves .git/index.lock; taking the
    stale run over removes it (the run's lock says no one else is in there)."""
    assert main(["research", "init", "--tag", "g", "--topic", "cancel scopes"]) == 0
    tag_dir = runs_root / "research" / "g"
    pid = dead_pid()
    (tag_dir / RUNNING_FILE).write_text(json.dumps(
        {"pid": pid, "host": HERE, "start": None, "interval": 30, "started": "then",
         "beat": time.time()}))
    lock = tag_dir / "workspace" / ".git" / "index.lock"
    lock.write_text("")
    capsys.readouterr()
    code = main(["research", "run", "--tag", "g", "--entries", "1", "--no-report",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert err.splitlines()[:2] == [
        f"deeploop research: research 'g': its last run stopped without finishing (process "
        f"{pid} on {HERE} is gone, started then): continuing it",
        f"deeploop research: removed {lock}, left by a git command killed with the last run"]
    assert not lock.exists() and not (tag_dir / RUNNING_FILE).exists()


def test_research_status_says_stale(runs_root, capsys):
    assert main(["research", "init", "--tag", "s", "--topic", "cancel scopes"]) == 0
    pid = dead_pid()
    (runs_root / "research" / "s" / RUNNING_FILE).write_text(json.dumps(
        {"pid": pid, "host": HERE, "start": None, "interval": 30, "beat": time.time()}))
    capsys.readouterr()
    assert main(["research", "status", "--tag", "s"]) == 0
    assert capsys.readouterr().out.startswith(f"research s: stale — process {pid} on {HERE} "
                                              "is gone\n")
