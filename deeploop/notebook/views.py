"""What the report template shows: one call per cell, adapting to the run's kind.

The template stays thin (DESIGN: no logic only in a notebook): each cell is
one call here, and the cell's value is what the report shows. ``load`` reads
the subject once and names its kind:

- ``experiment``: an experiment run folder (``results.tsv`` beside its
  events) or a bare autoresearch results.tsv (``views_experiment``);
- ``drill``: a drill run, ours or recorded by the reference (``views_drill``);
- ``node``: any other run, a node (ralph) loop (``views_node``).

A cell that does not apply to the kind returns None and shows nothing; a
cell that applies but has no data shows one short line. A new kind adds a
detector to ``KINDS``, a views module, and cells to the template.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import InputError
from ..runs import RunRecord, load_run
from ..summary import violation_counts
from . import views_experiment
from ..templating import fragment
from .viewkit import Html, Note, num, section
# cells per kind (each returns None for other kinds), here so the template calls views.<cell>
from .views_drill import bedrock, depth as drill_depth, tree as drill_tree  # noqa: F401
from .views_experiment import (experiment_table, lineage, meta_timeline,  # noqa: F401
                               progress_chart, time_and_cost, top_hits)
from .views_node import lessons, scores as node_scores, violations_over_runs  # noqa: F401


def _is_research(record: RunRecord) -> bool:
    return record.node == "research" or (record.path / "workspace" /
                                         "knowledge_index.tsv").is_file()


def _is_experiment(record: RunRecord) -> bool:
    return record.node == "experiment" or (record.path / "results.tsv").is_file()


def _is_drill(record: RunRecord) -> bool:
    return (record.node == "deeper" or (record.path / "tree.json").is_file()
            or bool(record.journal.of_type("question_emitted", "answer_emitted")))


# First match wins; anything else is a node-loop run.
KINDS = [("research", _is_research), ("experiment", _is_experiment), ("drill", _is_drill)]


@dataclass
class Subject:
    """What a report is about: a run folder (``record``) or a bare results file."""

    kind: str
    path: Path
    record: RunRecord | None = None
    _results: object = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.record.run_id if self.record else self.path.name

    @property
    def events(self) -> list[dict]:
        return self.record.journal.events if self.record else []

    @cached_property
    def results(self):
        """The experiment's results.tsv, read by the experiment package's reader."""
        from ..experiment.results import read_results
        if self._results is not None:
            return self._results
        return read_results(self.path / "results.tsv" if self.record else self.path)

    @cached_property
    def drill(self):
        from ..drill.view import load_drill
        return load_drill(self.path)


def load(run_dir: str = "", results: str = "") -> Subject:
    """The report's subject: a run folder, or an autoresearch results.tsv."""
    if bool(run_dir) == bool(results):
        raise InputError("give exactly one of run_dir (a run folder) or results (a results.tsv)")
    if results:
        return load_results(Path(results))
    record = load_run(run_dir)
    kind = next((name for name, test in KINDS if test(record)), "node")
    return Subject(kind, Path(run_dir), record)


def load_results(path: Path) -> Subject:
    from ..experiment.results import read_results
    if not path.is_file():
        raise InputError(f"results file not found: {path}")
    return Subject("experiment", path, None, read_results(path))


CELLS = "cells.html.j2"  # the markup of every report cell


# -- cells for every kind ------------------------------------------------------------


def title(subject: Subject):
    """A heading naming what the report is about."""
    if subject.record is None:
        rows = len(subject.results.rows)
        return Html(fragment(CELLS, "results_title", subject.name, rows, subject.path),
                    f"Experiments: {subject.name}")
    record = subject.record
    return Html(fragment(CELLS, "run_title", record, subject.kind),
                f"Run {record.run_id} ({subject.kind}, node {record.node})")


def outcome_table(subject: Subject):
    """Status, rounds, final score and exit reason; counts for experiments."""
    if subject.kind == "experiment":
        return views_experiment.counts(subject)
    record = subject.record
    outcome = record.outcome or {}
    rows = [("status", record.status), ("rounds", record.rounds),
            ("final score", num(record.final_score)),
            ("exit reason", outcome.get("exit_reason",
                                        "(no outcome.json: still running or killed)"))]
    after = fragment(CELLS, "listed", "Skipped while reading:", record.problems)
    return section("Outcome", ("", ""), rows, after=after)


def violations_table(subject: Subject):
    """How often each rule was broken in this run, and in which rounds."""
    if subject.kind == "experiment":
        return None
    record = subject.record
    totals = violation_counts(record)
    if not totals:
        return Note("Violations: none; every judged round followed every rule.")
    by_key: dict[str, list] = {}
    for event in record.journal.judged():
        for key in event.get("violations") or []:
            by_key.setdefault(str(key), []).append(event.get("round"))
    rows = [(key, count, ", ".join(str(r) for r in by_key.get(key, []) if r is not None))
            for key, count in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]
    return section("Violations", ("rule", "count", "rounds"), rows)


