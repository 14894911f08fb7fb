"""Creating a tag or a run is atomic (issue 11, items 1, 2 and 10).

Real command lines in subprocesses: two creators at once get one winner and
one one-line refusal; a kill at a random moment of creation leaves nothing a
later command trips over; a folder half made by an older version is cleared
with one line. Waits are bounded and generous: the machine may be loaded.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deeploop.cli import main
from tests.helpers import REPO

WAIT = 240  # seconds: a loaded 2-core machine creates a tag in well under this


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "deeploop", *args]


def start(args, env) -> subprocess.Popen:
    return subprocess.Popen(cli(*args), cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=WAIT)
    return proc.returncode, out, err


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) \
        if folder.is_dir() else []


def one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1 and "Traceback" not in err


RESEARCH_INIT = ("research", "init", "--topic", "structured concurrency")


@pytest.mark.parametrize("command", [
    RESEARCH_INIT,
    ("research", "run", "--topic", "structured concurrency", "--entries", "1", "--no-report",
     "--no-progress"),
    ("experiment", "init", "--data", "CORPUS")])
def test_two_creators_of_one_tag_at_once_one_wins_one_is_refused(runs_root, command, tmp_path):
    """Before: tracebacks, and in 6 of 16 trials a `created …` with exit 0 and no tag."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world. " * 5000)
    command = tuple(str(corpus) if a == "CORPUS" else a for a in command)
    kind = command[0]
    env = dict(os.environ)
    for trial in range(4):
        tag = f"race-{trial}"
        procs = [start((*command[:2], "--tag", tag, *command[2:]), env) for _ in range(2)]
        results = [finish(p) for p in procs]
        codes = sorted(code for code, _, _ in results)
        assert codes[0] == 0, results
        tag_dir = runs_root / kind / tag
        settings = tag_dir / f"{kind}.json"
        assert settings.is_file() and json.loads(settings.read_text())["tag"] == tag
        assert hidden(runs_root / kind) == []
        if codes[1] == 0:  # the second only came after the first had finished creating
            assert command[1] == "run", results  # init never creates twice
            continue
        loser = next(r for r in results if r[0] != 0)
        assert loser[0] == 2 and one_line(loser[2]), loser
        assert "created" not in loser[1]


def test_two_drills_with_one_run_id_at_once(runs_root, tmp_path):
    env = dict(os.environ)
    answers = tmp_path / "answers.txt"
    answers.write_text("a deeper cause\n")
    for trial in range(4):
        run_id = f"same-{trial}"
        args = ("drill", "claim", "--run-id", run_id, "--answers", str(answers), "--quiet",
                "--no-report")
        results = [finish(p) for p in [start(args, env) for _ in range(2)]]
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 2], results
        loser = next(r for r in results if r[0] == 2)
        assert one_line(loser[2]) and ("already exists" in loser[2]
                                       or "in use by another process" in loser[2]), loser
        assert (runs_root / "deeper" / run_id / "events.jsonl").is_file()


def creation_started(folder: Path, tag: str) -> bool:
    """The tag folder, or its hidden build beside it, has appeared."""
    return folder.is_dir() and any(p.name == tag or p.name.startswith(f".{tag}.")
                                   for p in folder.iterdir())


@pytest.mark.parametrize("kind", ["research", "experiment"])
def test_a_kill_while_creating_a_tag_leaves_nothing_in_the_way(kind, runs_root, tmp_path):
    """SIGKILL at once, then at random moments (0-0.1 s) after creation began,
    five times; the same command then creates the tag, saying at most one line.
    (The first kill is immediate: on a quiet machine creation can end within 0.1 s.)"""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world. " * 20000)
    command = {"research": ("research", "init", "--topic", "structured concurrency"),
               "experiment": ("experiment", "init", "--data", str(corpus))}[kind]
    env = dict(os.environ)
    rng = random.Random(11)
    killed_half_way = 0
    for trial in range(5):
        tag = f"killed-{trial}"
        proc = start((*command[:2], "--tag", tag, *command[2:]), env)
        deadline = time.monotonic() + WAIT
        while proc.poll() is None and not creation_started(runs_root / kind, tag):
            assert time.monotonic() < deadline, "creation never started"
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.1) if trial else 0)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=WAIT)
        tag_dir = runs_root / kind / tag
        settings = tag_dir / f"{kind}.json"
        if tag_dir.exists():  # killed after the rename: the tag is whole
            assert settings.is_file(), sorted(p.name for p in tag_dir.iterdir())
            continue
        killed_half_way += 1
        code, out, err = finish(start((*command[:2], "--tag", tag, *command[2:]), env))
        assert code == 0, err
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
        assert settings.is_file() and (tag_dir / "workspace" / ".git").is_dir()
        assert hidden(runs_root / kind) == []
    assert killed_half_way  # the kills did land during creation


def test_a_build_left_by_a_killed_creator_is_cleared_with_one_line(runs_root, capsys):
    research = runs_root / "research"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=WAIT)
    build = research / f".t.creating-{dead.pid}-x-abcdef"
    (build / "workspace").mkdir(parents=True)
    assert main(["research", "init", "--tag", "t", "--topic", "cancel scopes"]) == 0
    err = capsys.readouterr().err
    assert err.count("cleared a half-created research tag") == 1 and str(build) in err
    assert not build.exists() and (research / "t" / "research.json").is_file()


@pytest.mark.parametrize("command", [
    ["research", "run", "--tag", "half", "--topic", "cancel scopes", "--entries", "1",
     "--no-report", "--no-progress"],
    ["research", "init", "--tag", "half", "--topic", "cancel scopes"]])
def test_a_half_created_tag_folder_is_recognised_and_cleared(runs_root, capsys, command):
    """What a kill in the first half-second left before creation was atomic:
    a workspace, maybe the init event, no research.json."""
    half = runs_root / "research" / "half"
    (half / "workspace" / ".git").mkdir(parents=True)
    (half / "workspace" / "program.md").write_text("# half\n")
    assert main(command) == 0
    err = capsys.readouterr().err
    assert "cleared a half-created research tag" in err
    assert (half / "research.json").is_file()


def test_a_tag_folder_with_history_but_no_settings_is_refused_untouched(runs_root, capsys):
    half = runs_root / "research" / "kept"
    half.mkdir(parents=True)
    (half / "events.jsonl").write_text('{"type": "research_result", "round": 1}\n')
    assert main(["research", "init", "--tag", "kept", "--topic", "t"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "has a recorded history but no research.json" in err
    assert sorted(p.name for p in half.iterdir()) == ["events.jsonl"]


def test_a_half_created_experiment_tag_is_cleared(runs_root, capsys, tmp_path):
    from deeploop.experiment.rundir import init_run
    half = runs_root / "experiment" / "half"
    (half / "data").mkdir(parents=True)
    (half / "session.json").write_text("{}")  # a notebook session's file is kept
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world. " * 5000)
    run = init_run("half", str(corpus))
    assert (run.path / "experiment.json").is_file() and (half / "session.json").is_file()
    assert (run.path / "workspace" / "train.py").is_file()
    events = [json.loads(line) for line in (half / "events.jsonl").read_text().splitlines()]
    assert events[0]["workspace"] == str(half / "workspace")


def test_a_long_drill_run_id_is_refused_and_creates_nothing(runs_root, tmp_path, capsys):
    answers = tmp_path / "answers.txt"
    answers.write_text("cause\n")
    long_id = "x" * 250
    assert main(["drill", "claim", "--run-id", long_id, "--answers", str(answers),
                 "--no-report"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "250 bytes long, at most 128" in err
    assert not (runs_root / "deeper").exists() or not any((runs_root / "deeper").iterdir())
    ok_id = "y" * 128
    assert main(["drill", "claim", "--run-id", ok_id, "--answers", str(answers), "--quiet",
                 "--no-report"]) == 0
    assert (runs_root / "deeper" / ok_id / "tree.json").is_file()


@pytest.mark.parametrize("command", [
    ["research", "init", "--tag", "t" * 300, "--topic", "x"],
    ["research", "run", "--tag", "t" * 300, "--topic", "x", "--no-report"],
    ["experiment", "init", "--tag", "t" * 300],
    ["experiment", "run", "--tag", "t" * 300, "--no-report"],
    ["loop", "commit-msg", "--seed", "SEED", "--model", "mock:commit-msg", "--run-id", "r" * 300],
])
def test_a_300_character_name_is_one_line(command, runs_root, commit_node, seed_file, capsys):
    command = [str(seed_file) if a == "SEED" else a for a in command]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "300 bytes long" in err
    assert not any(runs_root.iterdir())


@pytest.mark.parametrize("left", [[], ["seed.md"], ["seed.md", "state.md", "tree.json"]])
def test_a_run_folder_left_before_its_first_event_does_not_block_its_id(runs_root, tmp_path,
                                                                         capsys, left):
    """Item 10: a failed or killed creation left an (empty) folder, and the id
    could never be used again."""
    folder = runs_root / "deeper" / "again"
    folder.mkdir(parents=True)
    for name in left:
        (folder / name).write_text("x\n")
    answers = tmp_path / "answers.txt"
    answers.write_text("cause\n")
    assert main(["drill", "claim", "--run-id", "again", "--answers", str(answers), "--quiet",
                 "--no-report"]) == 0
    err = capsys.readouterr().err
    assert err == f"deeploop drill: cleared a half-created run left by an interrupted command: " \
                  f"{folder}\n"
    assert (folder / "events.jsonl").is_file()


def test_a_run_folder_with_events_still_blocks_its_id(runs_root, tmp_path, capsys):
    folder = runs_root / "deeper" / "used"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text("")
    answers = tmp_path / "answers.txt"
    answers.write_text("cause\n")
    assert main(["drill", "claim", "--run-id", "used", "--answers", str(answers),
                 "--no-report"]) == 2
    assert "run id already exists: used" in capsys.readouterr().err


def test_a_build_folders_lock_stays_taken_across_its_rename_into_place(tmp_path):
    """harness.lock_build relies on this: fileio.file_lock (filelock's flock) locks
    the .lock file's inode, so renaming the folder it sits in does not free it,
    for another process or another lock in this one."""
    from deeploop.errors import RunLocked
    from deeploop.fileio import file_lock
    from deeploop.harness import lock_build
    build, final = tmp_path / ".r.creating-1-x-abcdef", tmp_path / "r"
    build.mkdir()
    probe = ("import sys\nfrom deeploop.errors import RunLocked\nfrom deeploop.fileio import "
             "file_lock\ntry:\n    with file_lock(sys.argv[1], wait=False): print('taken')\n"
             "except RunLocked: print('refused')\n")

    def other_process() -> str:
        done = subprocess.run([sys.executable, "-c", probe, str(final / ".lock")],
                              env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True,
                              text=True, timeout=WAIT)
        return done.stdout.strip() or done.stderr

    with lock_build(build, "run 'r'"):
        os.rename(build, final)
        assert other_process() == "refused"
        with pytest.raises(RunLocked, match="in use by another process"):
            with file_lock(final / ".lock", wait=False):
                pass
    assert other_process() == "taken"  # released where it now is
