"""Helpers shared by tests: paths to the repo, to the project's own fixtures and
to the reference systems' recordings, and a builder of small node folders."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# The project's own runs and files in the contract formats (tests/fixtures/README.md).
OWN = REPO / "tests" / "fixtures"
OWN_RUNS = OWN / "runs"
OWN_NODE_RUNS = OWN_RUNS / "commit-msg"
OWN_DRILLS = OWN_RUNS / "deeper"
OWN_RESULTS = OWN / "results" / "five-columns.tsv"
OWN_WIDE_RESULTS = OWN / "results" / "wide.tsv"

# The reference systems' recordings live beside CI's checkout, never in the repository
# (their licences forbid bundling them). Tests that read them carry this marker.
# DEEPLOOP_TEST_RECORDINGS names another folder holding them (a worktree elsewhere).
RECORDINGS = Path(os.environ.get("DEEPLOOP_TEST_RECORDINGS")
                  or REPO.parent / "shared" / "fixtures")
LEGACY = RECORDINGS / "deeper-legacy"
RECORDED_DRILLS = LEGACY / "deeper"
RECORDED_NODE_RUNS = LEGACY / "commit-msg"
RECORDED_RESULTS = RECORDINGS / "autoresearch" / "mlx-results.tsv"
recordings = pytest.mark.recordings
SKIP_REASON = (f"needs the reference systems' recordings in {RECORDINGS} (kept beside the "
               "checkout, never in it: their licences forbid bundling); the project's own "
               "fixtures in tests/fixtures/ cover the same formats")


def recordings_present() -> bool:
    return RECORDINGS.is_dir()


def make_node(nodes_dir: Path, name: str, judge_py: str | None = None,
              judge_sh: str | None = None, toml: str = "") -> Path:
    node = nodes_dir / name
    node.mkdir(parents=True)
    (node / "PROMPT.md").write_text(f"You are node {name}.\n")
    (node / "BANS.md").write_text("")
    if judge_py is not None:
        (node / "judge.py").write_text(judge_py)
    if judge_sh is not None:
        (node / "judge.sh").write_text(judge_sh)
    if toml:
        (node / "node.toml").write_text(toml)
    return node


# Tests that wait on processes allow for a loaded 2-core machine: they poll for the
# condition they need with a generous deadline, never sleep a fixed time and hope.
PATIENCE = 120.0  # seconds; bounded (pytest-timeout stops a test at 300 s anyway)


def wait_until(condition, what: str, timeout: float = PATIENCE, interval: float = 0.05):
    """Poll ``condition()`` until it returns something true (returned); fail the test
    naming ``what`` if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        time.sleep(interval)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not running)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
