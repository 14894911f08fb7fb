"""Shared fixtures: an isolated runs root, a copy of a node, the recorded runs."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures"
LEGACY = FIXTURES / "deeper-legacy"


@pytest.fixture(autouse=True)
def runs_root(tmp_path, monkeypatch) -> Path:
    """Every test gets its own runs root and node search path."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("DEEPLOOP_RUNS", str(root))
    monkeypatch.setenv("DEEPLOOP_NODES", str(tmp_path / "nodes"))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return root


@pytest.fixture
def nodes_dir(tmp_path) -> Path:
    path = tmp_path / "nodes"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def commit_node(nodes_dir) -> Path:
    """A private copy of the commit-msg node with an empty BANS.md."""
    dest = nodes_dir / "commit-msg"
    shutil.copytree(REPO / "nodes" / "commit-msg", dest,
                    ignore=shutil.ignore_patterns(".*", "__pycache__"))
    (dest / "BANS.md").write_text("")
    return dest


@pytest.fixture
def seed_file(tmp_path, commit_node) -> Path:
    return commit_node / "sample-seed.md"


@pytest.fixture
def legacy() -> Path:
    if not LEGACY.is_dir():
        pytest.skip(f"recorded reference runs not found at {LEGACY}")
    return LEGACY


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
