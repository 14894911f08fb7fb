"""A kill between an atomic write and its rename leaves ``.report.md.*.tmp``
in the workspace: the next run clears it, and it never shows as untracked."""
from __future__ import annotations

from .rloop_helpers import collection, run, start  # noqa: F401


def test_a_killed_write_leaves_nothing_in_the_workspace(collection):
    prepared = start("tmpfiles", collection, entries=1)
    ws = prepared.run.workspace()
    (ws.path / ".report.md.q8w9.tmp").write_text("half a report")
    (ws.path / ".program.md.k2j3.tmp").write_text("half a program")
    run(prepared)
    assert not list(ws.path.glob(".*.tmp")) and not ws.untracked()
    (ws.path / ".report.md.late.tmp").write_text("a write in progress")
    assert ws.git("status", "--porcelain").strip() == ""
