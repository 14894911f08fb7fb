"""Drill test fixtures: an isolated runs root and node folder, legacy-format runs,
and small helpers that drive a drill the way a user would."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .drill_helpers import REPO


@pytest.fixture(autouse=True)
def runs_root(tmp_path, monkeypatch) -> Path:
    """Every test gets its own runs root, its own copy of nodes/deeper, no API key."""
    root = tmp_path / "runs"
    root.mkdir()
    nodes = tmp_path / "nodes"
    shutil.copytree(REPO / "nodes" / "deeper", nodes / "deeper",
                    ignore=shutil.ignore_patterns("__pycache__", ".*"))
    monkeypatch.setenv("DEEPLOOP_RUNS", str(root))
    monkeypatch.setenv("DEEPLOOP_NODES", str(nodes))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return root


@pytest.fixture
def node_dir(tmp_path) -> Path:
    return tmp_path / "nodes" / "deeper"


@pytest.fixture
def legacy_copy(tmp_path):
    """Copy a legacy-format run folder (the project's own, or a recording) into the
    test's runs root, never writing where it came from."""
    def copy(source: Path) -> Path:
        dest = tmp_path / "runs" / "deeper" / source.name
        shutil.copytree(source, dest)
        return dest
    return copy

