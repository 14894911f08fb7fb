"""A drill run, read only: what ``deeploop render`` and reports display.

Works on any run folder holding a drill: ours, or one recorded by the
reference (only ``tree.json``, ``events.jsonl`` and perhaps
``outcome.json``). Shows the saved ``tree.json``; a drill killed before its
first save is rebuilt from the journal. Takes no lock and writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..runs import RunRecord, load_run, resolve_run
from .history import load_history
from .render import render_html, render_text, summary_html
from .tree import Tree
from .treefile import TREE_FILE, load_tree


@dataclass
class DrillView:
    record: RunRecord
    tree: Tree

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def path(self) -> Path:
        return self.record.path

    @property
    def status(self) -> str:
        return self.record.status

    def summary(self) -> str:
        outcome = self.record.outcome or {}
        reason = f" ({outcome['exit_reason']})" if outcome.get("exit_reason") else ""
        return f"drill {self.run_id}: {self.status}{reason}, {self.record.rounds} rounds"

    def text(self) -> str:
        return render_text(self.tree)

    def html(self) -> str:
        return render_html(self.tree)

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), self.tree)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.summary() + "\n\n" + self.text())

    def __str__(self) -> str:
        return self.text()


def load_drill(run: str | Path, root: Path | None = None) -> DrillView:
    """A drill by run id or folder path; an InputError names what is missing or corrupt."""
    run_dir = resolve_run(str(run), root)
    if (run_dir / TREE_FILE).exists():  # the saved view, as the reference rendered it
        tree = load_tree(run_dir / TREE_FILE)
    else:  # killed before the first save: rebuild from the journal
        tree = load_history(run_dir, strict=False).tree
    return DrillView(load_run(run_dir), tree)
