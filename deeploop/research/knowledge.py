"""knowledge_index.tsv: one row per research question, append-only.

Columns (DESIGN.md): question, answer_summary, sources, confidence,
gaps_identified, status, program_version, search_count. Sources and gaps are
pipe-separated. Readers go by header names, so the reference's six-column
files load too; a bad row is reported, kept in the file and never counted.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..fileio import atomic_write_text, file_lock

INDEX_FILE = "knowledge_index.tsv"
COLUMNS = ["question", "answer_summary", "sources", "confidence", "gaps_identified", "status",
           "program_version", "search_count"]
REQUIRED = ["question", "confidence", "status"]
CONFIDENCE = ("HIGH", "MEDIUM", "LOW")
STATUSES = ("answered", "partial", "conflicting")


@dataclass
class Entry:
    question: str
    answer_summary: str
    sources: list[str]
    confidence: str
    gaps: list[str]
    status: str
    program_version: str = ""
    search_count: int = 0

    def to_row(self) -> dict:
        return {"question": self.question, "answer_summary": self.answer_summary,
                "sources": "|".join(self.sources), "confidence": self.confidence,
                "gaps_identified": "|".join(self.gaps), "status": self.status,
                "program_version": self.program_version, "search_count": str(self.search_count)}


@dataclass
class KnowledgeIndex:
    entries: list[Entry]
    rows: list[dict]  # the good rows as read, for cohort statistics
    problems: list[str] = field(default_factory=list)


def normalise(question: str) -> str:
    return " ".join(question.lower().replace("?", " ").split())


def split_list(value: str) -> list[str]:
    """A knowledge-index cell of ``|``-separated items, blanks dropped."""
    return [part.strip() for part in (value or "").split("|") if part.strip()]


def _clean(value: str) -> str:
    """TSV cells cannot hold tabs or newlines: they become spaces."""
    return " ".join(str(value).replace("\t", " ").split())


def parse_index(text: str, source: str = INDEX_FILE) -> KnowledgeIndex:
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if reader.fieldnames and missing:
        raise InputError(f"{source}: missing column {missing[0]!r}")
    entries, rows, problems = [], [], []
    for lineno, row in enumerate(reader, start=2):
        problem = _row_problem(row)
        if problem:
            problems.append(f"{source}:{lineno}: {problem}")
            continue
        rows.append(row)
        entries.append(Entry(row["question"].strip(), row.get("answer_summary") or "",
                             split_list(row.get("sources")), row["confidence"].strip().upper(),
                             split_list(row.get("gaps_identified")), row["status"].strip(),
                             (row.get("program_version") or "").strip(),
                             int(row.get("search_count") or 0)))
    return KnowledgeIndex(entries, rows, problems)


def _row_problem(row: dict) -> str | None:
    if None in row:
        return "more cells than columns"
    short = [c for c in REQUIRED if row.get(c) is None]
    if short:
        return f"fewer cells than columns (no {short[0]})"
    if any("\ufffd" in value for value in row.values() if value):
        return "bytes that are not UTF-8 text"
    if not (row.get("question") or "").strip():
        return "empty question"
    if (row.get("confidence") or "").strip().upper() not in CONFIDENCE:
        return f"confidence {row.get('confidence')!r} is not HIGH, MEDIUM or LOW"
    if (row.get("status") or "").strip() not in STATUSES:
        return f"status {row.get('status')!r} is not answered, partial or conflicting"
    count = (row.get("search_count") or "0").strip()
    if not count.isdigit():
        return f"search_count {count!r} is not a number"
    return None


def read_index(path: Path) -> KnowledgeIndex:
    try:  # a hand edit in another encoding spoils its rows, not the file
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return KnowledgeIndex([], [])
    return parse_index(text, str(path))


def append_entry(path: Path, entry: Entry) -> None:
    """Append one row (creating the file with its header); never rewrites rows."""
    with file_lock(path.parent / f".{path.name}.lock"):
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        if not text.strip():
            text = "\t".join(COLUMNS) + "\n"
            atomic_write_text(path, text)
        header = text.splitlines()[0].split("\t")
        row = entry.to_row()
        line = "\t".join(_clean(row.get(column, "")) for column in header)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(("" if text.endswith("\n") else "\n") + line + "\n")
