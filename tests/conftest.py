"""Shared fixtures: an isolated runs root, a copy of a node; the ``recordings``
marker's skip when the reference systems' recordings are not beside the checkout."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, SKIP_REASON, recordings_present

# Notebooks the tests execute on purpose (some fail by design), not examples for nbval.
collect_ignore_glob = ["notebook/data/*.ipynb"]


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``recordings`` run whenever the reference recordings sit beside the
    checkout (helpers.RECORDINGS; CI has them); in a lone clone they are skipped, and the
    skip says why."""
    if recordings_present():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.get_closest_marker("recordings"):
            item.add_marker(skip)


@pytest.fixture
def nodes_dir(tmp_path_factory) -> Path:
    """A private node search folder (first on $DEEPLOOP_NODES)."""
    return tmp_path_factory.mktemp("nodes")


@pytest.fixture(autouse=True)
def runs_root(tmp_path_factory, nodes_dir, monkeypatch) -> Path:
    """Every test gets its own runs root and node search path, outside tmp_path."""
    root = tmp_path_factory.mktemp("runs")
    monkeypatch.setenv("DEEPLOOP_RUNS", str(root))
    monkeypatch.setenv("DEEPLOOP_NODES", str(nodes_dir))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return root


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
