"""Text views of runs: the ``deeploop runs`` table and the ``deeploop show`` summary.

Everything here is derived from the run's files; nothing is stored twice.
"""
from __future__ import annotations

from collections import Counter

from .errors import DeeploopError
from .nodes import find_node
from .runs import RunRecord


def _score(value) -> str:
    if value is None:
        return "-"
    return str(float(value)) if isinstance(value, (int, float)) else str(value)


def runs_table(records: list[RunRecord]) -> str:
    if not records:
        return "(no runs)"
    rows = [("RUN", "NODE", "STATUS", "ROUNDS", "SCORE", "STARTED")]
    rows += [(r.run_id, r.node, r.status, str(r.rounds), _score(r.final_score), r.started or "-")
             for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in rows)


def scores_by_round(record: RunRecord) -> list[tuple[int | None, float]]:
    """One score per judged round; a replayed round's verdict from before the kill is not its."""
    return [(e.get("round"), e.get("score")) for e in record.journal.judged()]


def violation_counts(record: RunRecord) -> Counter:
    if record.outcome and isinstance(record.outcome.get("violations_total"), dict):
        return Counter(record.outcome["violations_total"])
    return Counter(v for e in record.journal.judged()
                   for v in e.get("violations") or [])


def lessons_in_force(record: RunRecord) -> tuple[list[str], str]:
    """Lessons the run started with (recorded), else the node's BANS.md now."""
    started = record.journal.last("run_started")
    if started and isinstance(started.get("lessons"), list):
        return started["lessons"], "when the run started"
    try:
        return find_node(record.node).lessons(), "in the node's BANS.md now"
    except DeeploopError:
        return [], "node not found"


def summarize(record: RunRecord) -> str:
    lines = [
        f"run      {record.run_id}",
        f"node     {record.node}",
        f"folder   {record.path}",
        f"status   {record.status}" + (f" ({record.status_reason})"
                                       if record.status_reason else ""),
        f"rounds   {record.rounds}    final score {_score(record.final_score)}",
        f"started  {record.started or '-'}",
        "",
        "score per round:",
    ]
    scores = scores_by_round(record)
    lines += [f"  round {r if r is not None else '?'}: {_score(s)}" for r, s in scores] or [
        "  (no judge results)"]
    counts = violation_counts(record)
    lines.append("violations:")
    lines += [f"  {key} x{n}" for key, n in counts.most_common()] or ["  (none)"]
    lessons, when = lessons_in_force(record)
    lines.append(f"lessons in force ({when}):")
    lines += [f"  - {key}" for key in lessons] or ["  (none)"]
    promoted = record.journal.of_type("lesson_promoted")
    if promoted:
        lines.append("lessons promoted after this run:")
        lines += [f"  - {e.get('key')} ({e.get('count')} of last {e.get('window')} runs)"
                  for e in promoted]
    if record.problems:
        lines.append("problems:")
        lines += [f"  {p}" for p in record.problems]
    return "\n".join(lines)
