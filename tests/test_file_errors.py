"""Every file error is one line (issue 11, item 4): a read-only runs folder, a
full disk, an unwritable output folder, a BANS.md that is not UTF-8. Each
ends with exit 2 and one line naming the file and the problem, and changes
nothing recorded.

Read-only folders and full disks are real: the command runs under bubblewrap
with the runs folder bound read-only, or on a small tmpfs (as root, chmod
does not stop writes). Without a working bwrap those tests are skipped and
say so.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deeploop.cli import main
from tests.helpers import REPO, make_node

WAIT = 300


@functools.lru_cache(maxsize=None)
def bwrap_problem() -> str | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap (bubblewrap) is not installed"
    probe = subprocess.run([bwrap, "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                            "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bwrap cannot make a mount namespace here: {probe.stderr.strip()}"
    return None


needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None,
                                 reason=f"real read-only/full-disk mounts: {bwrap_problem()}")


def sandboxed(script: str, *, read_only: list[Path] = (), tmpfs: tuple[Path, int] | None = None,
              env=None) -> subprocess.CompletedProcess:
    """Run a shell script with some folders read-only or a size-limited tmpfs."""
    args = ["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    if tmpfs is not None:
        args += ["--size", str(tmpfs[1]), "--tmpfs", str(tmpfs[0])]
    return subprocess.run(args + ["sh", "-c", script], cwd=REPO, env=env or dict(os.environ),
                          capture_output=True, text=True, timeout=WAIT)


def deeploop(*args: str) -> str:
    return " ".join([sys.executable, "-m", "deeploop", *map(_quote, args)])


def _quote(arg: str) -> str:
    return "'" + str(arg).replace("'", "'\\''") + "'"


def one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1 and "Traceback" not in err


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def research_node(nodes_dir) -> Path:
    return make_node(nodes_dir, "research", judge_py="def judge(output, ctx):\n    return 1.0\n")


@pytest.fixture
def deeper_node(nodes_dir) -> Path:
    node = nodes_dir / "deeper"
    shutil.copytree(REPO / "nodes" / "deeper", node,
                    ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return node


@needs_bwrap
@pytest.mark.parametrize("name, command", [
    ("loop", ["loop", "commit-msg", "--seed", "SEED", "--model", "mock:commit-msg",
              "--no-report"]),
    ("meta-loop", ["meta-loop", "commit-msg", "--seed", "SEED", "--model", "mock:commit-msg",
                   "--runs", "1", "--no-report"]),
    ("drill", ["drill", "a claim", "--answers", "ANSWERS", "--no-report"]),
    ("research", ["research", "run", "--tag", "ro", "--topic", "cancel scopes",
                  "--entries", "1", "--no-report"]),
    ("experiment", ["experiment", "run", "--tag", "ro", "--data", "CORPUS",
                    "--experiments", "0", "--no-report"]),
])
def test_a_read_only_runs_folder_is_one_line_for_every_loop(name, command, runs_root, seed_file,
                                                            tmp_path):
    answers, corpus = tmp_path / "answers.txt", tmp_path / "corpus.txt"
    answers.write_text("a deeper cause\n")
    corpus.write_text("hello world. " * 5000)
    (runs_root / "existing").mkdir()
    (runs_root / "existing" / "outcome.json").write_text("{}\n")
    before = snapshot(runs_root)
    command = [{"SEED": str(seed_file), "ANSWERS": str(answers),
                "CORPUS": str(corpus)}.get(a, a) for a in command]
    proc = sandboxed(deeploop(*command), read_only=[runs_root])
    assert proc.returncode == 2, proc.stderr
    assert one_line(proc.stderr), proc.stderr
    assert f"deeploop {name}: cannot" in proc.stderr and "Read-only file system" in proc.stderr
    assert str(runs_root) in proc.stderr
    assert snapshot(runs_root) == before


@needs_bwrap
def test_a_read_only_run_resumed_is_one_line(runs_root, tmp_path, capsys):
    answers = tmp_path / "answers.txt"
    answers.write_text("a deeper cause\n")
    assert main(["drill", "a claim", "--run-id", "d", "--answers", str(answers), "--quiet",
                 "--no-report"]) == 0
    before = snapshot(runs_root)
    more = tmp_path / "more.txt"
    more.write_text("a deeper cause\nstill deeper\n")
    proc = sandboxed(deeploop("drill", "--resume", "d", "--answers", str(more), "--no-report"),
                     read_only=[runs_root])
    assert proc.returncode == 2 and one_line(proc.stderr), proc.stderr
    assert "Read-only file system" in proc.stderr
    assert snapshot(runs_root) == before


@needs_bwrap
def test_a_full_disk_during_a_drill_is_one_line_and_keeps_the_journal(tmp_path):
    """The runs folder is a 256 KiB tmpfs: a drill is created, the disk is
    filled, the drill resumed; the journal written before is kept whole."""
    runs, out = tmp_path / "small", tmp_path / "copies"
    runs.mkdir()
    out.mkdir()
    answers = tmp_path / "answers.txt"
    answers.write_text("a deeper cause\n")
    more = tmp_path / "more.txt"
    more.write_text("a deeper cause\nstill deeper\nand deeper\n")
    env = dict(os.environ, DEEPLOOP_RUNS=str(runs))
    script = "; ".join([
        deeploop("drill", "a claim", "--run-id", "d", "--answers", str(answers), "--quiet",
                 "--no-report") + " >/dev/null",
        f"cp -a {runs} {out}/before",
        f"dd if=/dev/zero of={runs}/filler bs=4k 2>/dev/null",
        deeploop("drill", "--resume", "d", "--answers", str(more), "--no-report")
        + " >/dev/null 2>" + f"{out}/err; echo $? > {out}/rc",
        f"rm {runs}/filler",
        f"cp -a {runs} {out}/after"])
    proc = sandboxed(script, tmpfs=(runs, 256 * 1024), env=env)
    assert proc.returncode == 0, proc.stderr
    err = (out / "err").read_text()
    assert (out / "rc").read_text().strip() == "2", err
    assert one_line(err) and "No space left on device (the disk is full)" in err, err
    assert str(runs) in err
    before, after = snapshot(out / "before"), snapshot(out / "after")
    for name in ("d/tree.json", "d/seed.md", "d/state.md", "d/outcome.json"):
        assert after.get(f"deeper/{name}") == before[f"deeper/{name}"], name
    old = (out / "before" / "deeper" / "d" / "events.jsonl").read_text()
    assert (out / "after" / "deeper" / "d" / "events.jsonl").read_text().startswith(old)


@needs_bwrap
def test_a_full_disk_at_an_experiment_run_is_one_line(tmp_path):
    runs, out = tmp_path / "small", tmp_path / "copies"
    runs.mkdir()
    out.mkdir()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world. " * 5000)
    env = dict(os.environ, DEEPLOOP_RUNS=str(runs))
    script = "; ".join([
        f"dd if=/dev/zero of={runs}/filler bs=4k 2>/dev/null",
        deeploop("experiment", "run", "--tag", "full", "--data", str(corpus),
                 "--experiments", "1", "--budget", "1", "--no-report", "--no-progress")
        + f" >/dev/null 2>{out}/err; echo $? > {out}/rc",
        f"rm {runs}/filler",
        f"ls -A {runs} > {out}/left"])
    proc = sandboxed(script, tmpfs=(runs, 512 * 1024), env=env)
    assert proc.returncode == 0, proc.stderr
    err = (out / "err").read_text()
    assert (out / "rc").read_text().strip() == "2", err
    assert one_line(err) and "No space left on device" in err, err
    assert (out / "left").read_text().split() in ([], ["experiment"])


@needs_bwrap
def test_meta_results_beside_a_read_only_file_is_one_line(tmp_path):
    folder = tmp_path / "published"
    folder.mkdir()
    results = folder / "results.tsv"
    results.write_text("commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"
                       "a1b2c3d\t1.500000\t1.0\tkeep\tbaseline\n"
                       "b2c3d4e\t1.400000\t1.0\tkeep\tlr 0.001 -> 0.002\n"
                       "c3d4e5f\t1.450000\t1.0\tdiscard\tdepth 4 -> 6\n")
    proc = sandboxed(deeploop("meta", "--results", str(results)), read_only=[folder])
    assert proc.returncode == 2 and one_line(proc.stderr), proc.stderr
    assert "next-hypotheses.md" in proc.stderr and "Read-only file system" in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["results.tsv"]


def _bad_bans(node: Path) -> None:
    (node / "BANS.md").write_bytes(b"- `old` \xe9t\xe9 kept\n")


def test_a_loop_with_a_bans_md_that_is_not_utf8(commit_node, seed_file, runs_root, capsys):
    _bad_bans(commit_node)
    assert main(["loop", "commit-msg", "--seed", str(seed_file), "--model", "mock:commit-msg",
                 "--no-report"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "BANS.md" in err and "not UTF-8" in err
    assert not (runs_root / "commit-msg").exists() or not any(
        (runs_root / "commit-msg").iterdir())  # no unfinished run folder


def test_feedback_with_a_bans_md_that_is_not_utf8(commit_node, runs_root, capsys):
    _bad_bans(commit_node)
    assert main(["feedback", "commit-msg"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "BANS.md" in err and "not UTF-8" in err
    assert (commit_node / "BANS.md").read_bytes() == b"- `old` \xe9t\xe9 kept\n"


def test_a_drill_with_a_bans_md_that_is_not_utf8(deeper_node, runs_root, tmp_path, capsys):
    _bad_bans(deeper_node)
    answers = tmp_path / "answers.txt"
    answers.write_text("cause\n")
    assert main(["drill", "claim", "--answers", str(answers), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "BANS.md" in err and "not UTF-8" in err
    assert not (runs_root / "deeper").exists() or not any((runs_root / "deeper").iterdir())


def test_research_run_with_a_bans_md_that_is_not_utf8(research_node, runs_root, capsys):
    _bad_bans(research_node)
    assert main(["research", "run", "--tag", "r", "--topic", "cancel scopes", "--entries", "1",
                 "--no-report", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "BANS.md" in err and "not UTF-8" in err
    assert not (runs_root / "research").exists() or not any((runs_root / "research").iterdir())


def test_an_os_error_nobody_named_is_still_one_line(monkeypatch, capsys):
    import errno

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("deeploop.cli.core.cmd_runs", full)
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert err == "deeploop runs: cannot write: No space left on device (the disk is full)\n"


def test_a_left_index_lock_is_named_in_the_one_line(tmp_path):
    """Item 10: git's last stderr line ("remove the file manually to
    continue.") named no file; the message now carries git's fatal line."""
    from deeploop.errors import InputError
    from deeploop.experiment.workspace import TrainingWorkspace as Workspace
    ws = Workspace.create(tmp_path / "ws", "t", {"train.py": "x = 1\n"})
    lock = ws.path / ".git" / "index.lock"
    lock.write_text("")
    ws.write("x = 2\n")
    with pytest.raises(InputError) as caught:
        ws.commit("change")
    message = str(caught.value)
    assert "\n" not in message
    assert f"Unable to create '{lock}': File exists." in message
    assert f"remove {lock} if no git is running" in message


@needs_bwrap
@pytest.mark.parametrize("out", ["ro", "ro/sub"])
def test_report_out_into_a_read_only_folder_is_one_line(tmp_path, out):
    results = tmp_path / "results.tsv"
    results.write_text("commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"
                       "a1b2c3d\t1.500000\t1.0\tkeep\tbaseline\n")
    (tmp_path / "ro").mkdir()
    proc = sandboxed(deeploop("report", "--results", str(results), "--out",
                              str(tmp_path / out)), read_only=[tmp_path / "ro"])
    assert proc.returncode == 2 and one_line(proc.stderr), proc.stderr
    assert f"deeploop report: cannot write {tmp_path / 'ro'}" in proc.stderr
    assert "Read-only file system" in proc.stderr
    assert list((tmp_path / "ro").iterdir()) == []


@needs_bwrap
def test_a_disk_filling_up_during_an_experiment_run_is_one_line_and_resume_goes_on(tmp_path):
    """Before: three chained exceptions. The runs folder is a 3 MB tmpfs,
    filled to its last 24 KiB after the tag is made; the run stops with the
    first failure in one line; with space again, the same command goes on."""
    from tests.experiment.conftest import FAKE_TRAIN, corpus_text
    runs, out = tmp_path / "small", tmp_path / "copies"
    runs.mkdir()
    out.mkdir()
    (tmp_path / "train.py").write_text(FAKE_TRAIN)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(corpus_text())
    tag = runs / "experiment" / "t"
    run = deeploop("experiment", "run", "--tag", "t", "--resume", "--experiments", "3",
                   "--budget", "1", "--no-report", "--no-progress", "--no-warm-start",
                   "--meta-interval", "0")
    script = "\n".join([
        deeploop("experiment", "init", "--tag", "t", "--data", str(corpus)) + " >/dev/null",
        f"cp {tmp_path}/train.py {tag}/workspace/train.py",
        f"git -C {tag}/workspace -c user.name=t -c user.email=t@t commit -qam fake",
        f"avail=$(df -k {runs} | tail -1 | awk '{{print $4}}')",
        f"dd if=/dev/zero of={runs}/filler bs=1k count=$((avail - 24)) 2>/dev/null",
        f"{run} >/dev/null 2>{out}/err; echo $? > {out}/rc",
        f"cp {tag}/results.tsv {out}/before.tsv",
        f"rm {runs}/filler",
        f"{run} >/dev/null 2>{out}/err2; echo $? > {out}/rc2",
        f"cp {tag}/results.tsv {out}/after.tsv"])
    proc = sandboxed(script, tmpfs=(runs, 3_000_000),
                     env=dict(os.environ, DEEPLOOP_RUNS=str(runs)))
    assert proc.returncode == 0, proc.stderr
    err = (out / "err").read_text()
    assert (out / "rc").read_text().strip() == "2", err
    assert one_line(err) and str(runs) in err, err
    assert "No space left on device" in err or "Out of diskspace" in err, err
    assert (out / "rc2").read_text().strip() == "0", (out / "err2").read_text()
    before = (out / "before.tsv").read_text().splitlines()
    after = (out / "after.tsv").read_text().splitlines()
    assert after[:len(before)] == before and len(after) > len(before)
