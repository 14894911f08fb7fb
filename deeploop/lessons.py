"""Lessons: recurring judge violations promoted into a node's BANS.md.

Among the newest W runs of a node (by the start time recorded in each run),
count in how many distinct runs each violation key occurs; every key seen in
at least ``threshold`` runs that BANS.md does not already mention becomes a
lesson line. Promotion is idempotent and a hand-written line for a key
blocks it. The decision is pure (``plan_promotions``); ``feedback`` does the
I/O under a lock so two processes never corrupt BANS.md.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .events import EVENTS_FILE, EventLog, read_events
from .fileio import atomic_write_text, file_error, file_lock
from .runs import run_dirs, start_time

_LESSON_KEY = re.compile(r"^\s*[-*]\s*`([^`]+)`", re.MULTILINE)


def lesson_keys(bans_text: str) -> list[str]:
    """Lesson keys in a BANS.md text, in order of appearance."""
    return list(dict.fromkeys(_LESSON_KEY.findall(bans_text)))


def lesson_line(key: str, count: int, window: int, example: str) -> str:
    return f"- `{key}` — promoted from {count} of last {window} runs (example: {example})"


@dataclass
class RunViolations:
    run_id: str
    keys: set[str]


@dataclass
class Promotion:
    key: str
    count: int
    example: str
    line: str


@dataclass
class FeedbackReport:
    counts: dict[str, int]
    promoted: list[Promotion]
    window_runs: list[str]
    problems: list[str] = field(default_factory=list)


def count_violations(runs: list[RunViolations]) -> dict[str, int]:
    """In how many distinct runs each key occurs, sorted by key."""
    counts = Counter(key for run in runs for key in run.keys)
    return dict(sorted(counts.items()))


def plan_promotions(runs: list[RunViolations], bans_text: str, *,
                    window: int, threshold: int) -> list[Promotion]:
    """Pure: which lessons to add. ``runs`` are the window, newest first."""
    present = set(lesson_keys(bans_text))
    promotions = []
    for key, count in count_violations(runs).items():
        if count < threshold or key in present:
            continue
        example = next(r.run_id for r in runs if key in r.keys)
        promotions.append(Promotion(key, count, example, lesson_line(key, count, window, example)))
    return promotions


def append_lessons(bans_text: str, promotions: list[Promotion]) -> str:
    if not promotions:
        return bans_text
    prefix = bans_text if not bans_text or bans_text.endswith("\n") else bans_text + "\n"
    return prefix + "".join(p.line + "\n" for p in promotions)


def window_runs(node: str, window: int, root: Path | None = None) -> list[Path]:
    """The newest ``window`` run folders of a node, newest first."""
    dirs = run_dirs(node, root)
    dirs.sort(key=lambda d: (start_time(d), d.name), reverse=True)
    return dirs[:window]


def read_run_violations(run_dir: Path) -> tuple[RunViolations, list[str]]:
    journal = read_events(run_dir / EVENTS_FILE)
    keys = {v for e in journal.judged()  # not a replayed round's verdict from before a kill
            for v in (e.get("violations") or []) if isinstance(v, str)}
    run_id = next((e["run_id"] for e in journal.events if isinstance(e.get("run_id"), str)),
                  run_dir.name)
    return RunViolations(run_id, keys), journal.problems


def feedback(node, *, window: int = 5, threshold: int = 2,
             root: Path | None = None) -> FeedbackReport:
    """Promote recurring violations of ``node`` (a nodes.Node) into its BANS.md."""
    if window < 1 or threshold < 1:
        raise InputError("--window and --threshold must be at least 1")
    bans = node.bans_path
    check_writable(bans)
    with file_lock(bans.parent / f".{bans.name}.lock"):
        dirs = window_runs(node.name, window, root)
        runs, problems = [], []
        for run_dir in dirs:
            run, found = read_run_violations(run_dir)
            runs.append(run)
            problems.extend(found)
        text = node.bans()
        promotions = plan_promotions(runs, text, window=window, threshold=threshold)
        if promotions:
            _write_bans(bans, append_lessons(text, promotions))
            _record(dirs[0], runs[0].run_id, node.name, promotions, window, threshold, bans)
    return FeedbackReport(count_violations(runs), promotions, [r.run_id for r in runs], problems)


def check_writable(bans: Path) -> None:
    """Refuse a BANS.md feedback could not replace. The atomic rename would
    silently replace a read-only file, so its permission is checked here."""
    if bans.is_dir():
        raise InputError(f"cannot write {bans}: it is a folder")
    if not bans.parent.is_dir():
        raise InputError(f"cannot write {bans}: folder {bans.parent} does not exist")
    if bans.exists() and not os.access(bans, os.W_OK):
        raise InputError(f"cannot write {bans}: it is read-only")
    if not os.access(bans.parent, os.W_OK):
        raise InputError(f"cannot write {bans}: folder {bans.parent} is not writable")


def _write_bans(bans: Path, text: str) -> None:
    try:
        atomic_write_text(bans, text)
    except OSError as exc:
        raise file_error(exc, bans) from None


def _record(run_dir: Path, run_id: str, node: str, promotions, window, threshold, bans):
    """A lesson_promoted event in the newest run of the window: promoted after it."""
    log = EventLog(run_dir / EVENTS_FILE, run_id, node)
    for p in promotions:
        log.emit("lesson_promoted", key=p.key, count=p.count, window=window,
                 threshold=threshold, example=p.example, line=p.line, bans_file=str(bans))


def describe_feedback(report: FeedbackReport, node: str, window: int, bans: Path) -> str:
    """The text ``deeploop feedback`` prints: counts, promotions, problems."""
    lines = [f"feedback: violation counts across last {window} runs of {node}:"]
    lines += [f"  {count} {key}" for key, count in report.counts.items()] or ["  (none)"]
    lines += [f"  -> PROMOTED: {p.key}" for p in report.promoted]
    lines += [f"  skipped malformed line: {problem}" for problem in report.problems]
    lines.append(f"feedback: {len(report.promoted)} new lesson(s) appended to {bans}")
    return "\n".join(lines)
