"""What an analysis reads, gathered once and handed to any analyst.

The issue's list: results.tsv (by header names), ``git log --oneline -20``
of the workspace, the last 60 lines of train.py, program.md, the tail of
process_log.md, and which earlier hypotheses were tested with what result.
``build_inputs`` is pure; ``gather_run`` (an experiment tag) and
``gather_file`` (any autoresearch results.tsv, with whatever sits beside it)
do the reading.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, NotFound
from ..events import read_events
from ..experiment.knobs import Value, read_knobs
from ..experiment.results import Results, read_results
from ..experiment.workspace import PROGRAM_FILE, TRAIN_FILE
from ..workspace import Workspace
from ..experiment.hypotheses import HYPOTHESES_FILE, Hypothesis, parse_hypotheses
from .stats import Record, Summary, replay, summarize, verdicts

PROCESS_LOG = "process_log.md"
TRAIN_TAIL = 60
LOG_TAIL = 60
_ANALYSIS_ID = re.compile(r"^M(\d+)\.")


@dataclass
class MetaInputs:
    number: int                          # this analysis, 1-based
    results: Results
    records: list[Record]
    summary: Summary
    knobs: dict[str, Value]              # current hyperparameters ({} when unknown)
    train_tail: str = ""
    git_log: str = ""
    program_md: str = ""
    process_log_tail: str = ""
    previous: list[Hypothesis] = field(default_factory=list)
    verdicts: list[dict] = field(default_factory=list)
    previous_best: float | None = None   # the best at the previous analysis
    source: str = ""

    @property
    def empty(self) -> bool:
        return not self.results.rows


def tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def infer_knobs(records: list[Record]) -> dict[str, Value]:
    """Current values as far as the history tells: a kept move's new value,
    a discarded one's old value. Used when there is no train.py to read."""
    known: dict[str, Value] = {}
    for record in records:
        for move in record.moves:
            value = move.new if record.row.counts else move.old
            if value is not None:
                known[move.knob] = value
    return known


def _knobs(train_py: str) -> dict[str, Value]:
    try:
        return {name: knob.value for name, knob in read_knobs(train_py).items()}
    except InputError:
        return {}  # a train.py that does not parse has no knobs to read


def build_inputs(results: Results, *, number: int = 1, events: list[dict] | None = None,
                 train_py: str = "", git_log: str = "", program_md: str = "",
                 process_log: str = "", previous: list[Hypothesis] | None = None,
                 after: int | None = None, previous_best: float | None = None,
                 source: str = "") -> MetaInputs:
    knobs = _knobs(train_py) if train_py else {}
    records = replay(results, events, names=knobs)
    return MetaInputs(
        number=number, results=results, records=records, summary=summarize(results, records),
        knobs=knobs or infer_knobs(records), train_tail=tail(train_py, TRAIN_TAIL),
        git_log=git_log, program_md=program_md, process_log_tail=tail(process_log, LOG_TAIL),
        previous=list(previous or []), verdicts=verdicts(previous or [], records, after),
        previous_best=previous_best, source=source)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return ""


def last_analysis(events: list[dict]) -> dict | None:
    return next((e for e in reversed(events) if e.get("type") == "meta_analysis"), None)


def gather_run(run, events: list[dict] | None = None) -> MetaInputs:
    """Inputs for the next analysis of an experiment run (``ExperimentRun``)."""
    events = read_events(run.events_path).events if events is None else events
    ws = run.workspace()
    last = last_analysis(events)
    if last is not None:
        previous = [Hypothesis.from_json(h) for h in last.get("hypotheses") or []]
        after, best = last.get("round"), (last.get("best") or {}).get("val_bpb")
    else:  # hypotheses a person wrote before any analysis still get their verdicts
        previous, after, best = parse_hypotheses(_read(ws.path / HYPOTHESES_FILE)), None, None
    return build_inputs(
        read_results(run.results_path),
        number=sum(1 for e in events if e.get("type") == "meta_analysis") + 1,
        events=events, train_py=_read(ws.path / TRAIN_FILE), git_log=ws.log_oneline(20),
        program_md=_read(ws.path / PROGRAM_FILE), process_log=_read(ws.path / PROCESS_LOG),
        previous=previous, after=after, previous_best=best, source=f"experiment {run.tag}")


def gather_file(path: Path | str) -> MetaInputs:
    """Inputs from any results.tsv; train.py, program.md, process_log.md,
    next-hypotheses.md and the git log are read from beside it when present."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"results file not found: {path}")
    folder = path.parent
    previous = parse_hypotheses(_read(folder / HYPOTHESES_FILE))
    numbers = [int(m.group(1)) for h in previous if (m := _ANALYSIS_ID.match(h.id))]
    return build_inputs(
        read_results(path), number=max(numbers, default=0) + 1,
        train_py=_read(folder / TRAIN_FILE), git_log=_git_log(folder),
        program_md=_read(folder / PROGRAM_FILE), process_log=_read(folder / PROCESS_LOG),
        previous=previous, source=str(path))


def _git_log(folder: Path) -> str:
    if not (folder / ".git").exists():
        return ""
    try:
        return Workspace(folder).git("log", "--oneline", "-20", check=False)
    except InputError:  # no git on this machine: the log is an extra, not a must
        return ""
