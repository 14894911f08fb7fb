"""Fixtures for the notebook tests; helpers live in nbhelpers.py.

Executions start a real kernel (~1-2 s each), so tests that look at one
execution from several sides share a module-scoped result.
"""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _runs_elsewhere(tmp_path, monkeypatch):
    """No test may write into the repository's runs/ folder."""
    monkeypatch.setenv("DEEPLOOP_RUNS", str(tmp_path / "runs"))
