"""results.tsv: one row per trained experiment, read by header names.

Contract (DESIGN.md): header ``commit val_bpb memory_gb status description``,
tab-separated; status keep | discard | crash; val_bpb with 6 decimals
(0.000000 for a crash), memory in GB with 1 decimal. Files written by other
tools or edited by hand may add columns, reorder them or hold bad rows: a
bad row is reported, kept in the file, and never counted as the best. The
file is only ever appended to, so no row is lost.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..strenum import StrEnum

HEADER = ("commit", "val_bpb", "memory_gb", "status", "description")
REQUIRED = ("val_bpb", "status")
BASELINE = "baseline"
NOISE = "baseline (noise run"  # repeats of the baseline that measure run-to-run noise


class RowStatus(StrEnum):
    KEEP = "keep"
    DISCARD = "discard"
    CRASH = "crash"


@dataclass
class Row:
    """One experiment. ``problem`` is set for a malformed row (never the best)."""

    commit: str
    val_bpb: float | None
    memory_gb: float | None
    status: str
    description: str
    extra: dict[str, str] = field(default_factory=dict)
    line: int = 0
    problem: str | None = None
    raw: dict[str, str] = field(default_factory=dict, repr=False, compare=False)  # as written

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def counts(self) -> bool:
        """Whether this row may be the best: well-formed, kept, a real score."""
        return (self.ok and self.status == RowStatus.KEEP
                and self.val_bpb is not None and self.val_bpb > 0)

    @property
    def is_baseline(self) -> bool:
        return self.description.strip().lower().startswith(BASELINE)

    @property
    def is_noise(self) -> bool:
        return self.description.strip().lower().startswith(NOISE)

    def to_json(self) -> dict:
        data = {"commit": self.commit, "val_bpb": self.val_bpb, "memory_gb": self.memory_gb,
                "status": self.status, "description": self.description}
        data.update(self.extra)
        if self.problem:
            data["problem"] = self.problem
        return data


@dataclass
class Results:
    path: Path | None
    header: list[str]
    rows: list[Row]

    @property
    def problems(self) -> list[str]:
        return [f"{self.path or 'results.tsv'}:{r.line}: {r.problem}" for r in self.rows
                if r.problem]

    def best(self) -> Row | None:
        """The lowest val_bpb among well-formed kept rows; ties go to the earliest."""
        candidates = [r for r in self.rows if r.counts]
        return min(candidates, key=lambda r: r.val_bpb) if candidates else None

    def running_best(self) -> list[float | None]:
        """Per row, the best counted val_bpb up to and including it (None before any)."""
        bests, best = [], None
        for row in self.rows:
            if row.counts and (best is None or row.val_bpb < best):
                best = row.val_bpb
            bests.append(best)
        return bests

    def baseline(self) -> Row | None:
        """The first well-formed baseline row with a score, else the first scored row."""
        scored = [r for r in self.rows if r.ok and r.val_bpb and r.status != RowStatus.CRASH]
        return next((r for r in scored if r.is_baseline), scored[0] if scored else None)

    def experiments(self) -> list[Row]:
        """Every well-formed row except baseline measurements: what every
        reader (``status``, ``meta``, reports, the loop) counts as experiments.
        Malformed rows are listed in ``problems`` and ``malformed()`` instead."""
        return [r for r in self.rows if r.ok and not r.is_baseline]

    def malformed(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]

    def count(self, status: str) -> int:
        return sum(1 for r in self.experiments() if r.status == status)


def _number(text: str, column: str) -> tuple[float | None, str | None]:
    try:
        value = float(text)
    except ValueError:
        return None, f"{column} is not a number: {text!r}"
    if not math.isfinite(value) or value < 0:
        return None, f"{column} must be a non-negative number, got {text!r}"
    return value, None


def parse_row(fields: list[str], header: list[str], line: int) -> Row:
    values = dict(zip(header, fields))
    problems = []
    standard = [c for c in header if c in HEADER]
    if len(fields) > len(header) or any(c not in values for c in standard):
        # a short row may only lack trailing extra columns (editors drop empty ones)
        problems.append(f"{len(fields)} fields, the header has {len(header)}")
    val_bpb, bad = _number(values.get("val_bpb", ""), "val_bpb")
    problems += [bad] if bad else []
    memory, bad = _number(values.get("memory_gb", "0") or "0", "memory_gb")
    problems += [bad] if bad else []
    status = values.get("status", "").strip().lower()  # "KEEP", "Discard" are the same words
    if status not in {s.value for s in RowStatus}:
        problems.append(f"status must be keep, discard or crash, got {status!r}")
    extra = {k: v for k, v in values.items() if k not in HEADER}
    return Row(values.get("commit", "").strip(), val_bpb, memory, status,
               values.get("description", ""), extra, line,
               "; ".join(problems) if problems else None, values)


def parse_results(text: str, path: Path | None = None) -> Results:
    """Header names are matched without case or a UTF-8 byte-order mark."""
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines or not lines[0].strip():
        return Results(path, list(HEADER), [])
    header = _header(lines[0])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"{path or 'results.tsv'} has no {' or '.join(missing)} column "
                         f"(header: {' '.join(header)})")
    rows = [parse_row(line.split("\t"), header, n)
            for n, line in enumerate(lines[1:], start=2) if line.strip()]
    return Results(path, header, rows)


def _header(line: str) -> list[str]:
    return [h.strip().lower() for h in line.removeprefix("\ufeff").split("\t")]


def read_header(path: Path | str) -> list[str]:
    """The column names of a results file as every reader matches them
    (without case or byte-order mark); [] for an empty file."""
    text = _read(Path(path))
    return _header(text.splitlines()[0]) if text.strip() else []


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace")
    except IsADirectoryError:
        raise InputError(f"results file is a folder: {path}") from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read results file {path}: {exc.strerror or exc}") from None


def read_results(path: Path | str) -> Results:
    """A results file; a missing one is an empty table with the standard header."""
    path = Path(path)
    try:
        text = _read(path)
    except FileNotFoundError:
        return Results(path, list(HEADER), [])
    return parse_results(text, path)


def clean_description(text: str) -> str:
    """One line: tabs and newlines would break the TSV."""
    return " ".join(str(text).split()) or "(no description)"


def noise_description(index: int, runs: int) -> str:
    return f"{NOISE} {index}/{runs})"


def new_row(commit: str, status: str, description: str, val_bpb: float | None = None,
            memory_gb: float | None = None) -> Row:
    """A row as the loop records it: crashes score 0.0 by contract."""
    status = RowStatus(status).value
    if status == RowStatus.CRASH or val_bpb is None:
        val_bpb, memory_gb = 0.0, 0.0
    return Row(commit[:7], float(val_bpb), float(memory_gb or 0.0), status,
               clean_description(description))


def format_row(row: Row, header: list[str]) -> str:
    known = {"commit": row.commit, "val_bpb": f"{row.val_bpb or 0.0:.6f}",
             "memory_gb": f"{row.memory_gb or 0.0:.1f}", "status": row.status,
             "description": clean_description(row.description)}
    known.update({k: clean_description(v) for k, v in row.extra.items()})
    return "\t".join(known.get(column, "") for column in header)


def append_row(path: Path | str, row: Row) -> None:
    """Append one row in the file's own column order, creating it if needed.
    Written with one write and an fsync: a crash leaves the row whole or absent."""
    path = Path(path)
    current = read_results(path)
    exists = path.exists() and path.stat().st_size > 0
    text = "" if exists else "\t".join(HEADER) + "\n"
    if exists and not path.read_bytes().endswith(b"\n"):
        text += "\n"  # a hand edit dropped the final newline
    text += format_row(row, current.header) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
