"""results.tsv against the events: resume refuses a table that lost what the
journal says was recorded, and ``deeploop experiment repair`` rebuilds it.

Every trained experiment appends its row before its ``experiment_result``
event, so each such event (keep, discard or crash, with a commit) has a row
with that commit, in the same order. An emptied file, rows cut off, or a
header that lost a column would make the loop re-measure a kept change as
the baseline, or append rows a reader cannot place: the run is refused
before anything is trained or appended, with one line saying how to repair
it. Rows a person added stay allowed (they match no event).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import InputError
from .results import HEADER, Row, format_row, parse_results

TRAINED = ("keep", "discard", "crash")


def recorded(events: list[dict]) -> list[dict]:
    """The experiment_result events that wrote a row, in order."""
    return [e for e in events if e.get("type") == "experiment_result"
            and e.get("status") in TRAINED and e.get("commit")]


def repair_hint(tag: str) -> str:
    return (f"restore it from a backup, or rebuild it from events.jsonl with: "
            f"deeploop experiment repair --tag {tag}")


def check_record(path: Path, events: list[dict], tag: str) -> None:
    """Refuse (InputError, one line) a results.tsv that disagrees with the events."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    expected = recorded(events)
    if not text.strip():
        if expected:
            raise InputError(f"{path} is empty but events.jsonl records {len(expected)} "
                             f"experiments: {repair_hint(tag)}")
        return
    try:
        results = parse_results(text, path)
    except InputError as exc:
        raise InputError(f"{exc}: {repair_hint(tag)}") from None
    missing = [c for c in HEADER if c not in results.header]
    if missing:
        raise InputError(f"{path} has no {', '.join(missing)} column "
                         f"(header: {' '.join(results.header)}): {repair_hint(tag)}")
    rows, start = [r.commit[:7] for r in results.rows], 0
    for number, event in enumerate(expected):
        commit = str(event["commit"])[:7]
        found = next((i for i in range(start, len(rows)) if rows[i] == commit), None)
        if found is None:
            raise InputError(
                f"{path} lacks the row of experiment {event.get('round', number)} "
                f"(commit {commit}) that events.jsonl records, and "
                f"{len(expected) - number - 1} after it: {repair_hint(tag)}")
        start = found + 1


def rebuild(events: list[dict]) -> str:
    """results.tsv as the events recorded it (the standard columns)."""
    lines = ["\t".join(HEADER)]
    for event in recorded(events):
        row = Row(str(event["commit"])[:7], event.get("val_bpb") or 0.0,
                  event.get("memory_gb") or 0.0, event["status"],
                  event.get("description") or "")
        lines.append(format_row(row, list(HEADER)))
    return "\n".join(lines) + "\n"


def repair(path: Path, events: list[dict]) -> Path | None:
    """Rebuild ``path`` from the events, keeping the old file beside it as
    ``results.tsv.damaged``; returns where the old one went (None if none)."""
    from ..fileio import atomic_write_text
    kept = None
    if path.exists():
        kept = path.with_name(path.name + ".damaged")
        shutil.copy2(path, kept)
    atomic_write_text(path, rebuild(events))
    return kept
