"""What an experiment run's report and live monitor show, as pure functions.

Inputs are a results table (``experiment.results.Results``, read by header
names) and the run's events; outputs are plain dataclasses. Nothing here
draws or reads files, so the report, the monitor and the tests share it.

Experiments are numbered by their row in results.tsv (0 is the first row,
normally the baseline): a rejected proposal trains nothing and has no row.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..experiment.results import Results
from ..runs import parse_ts

VERDICTS = ("confirmed", "refuted", "crashed", "untested")
_FROM_STATUS = {"keep": "confirmed", "discard": "refuted", "crash": "crashed"}


@dataclass
class Point:
    n: int
    val_bpb: float | None
    status: str
    description: str
    commit: str
    ok: bool


def points(results: Results) -> list[Point]:
    return [Point(n, r.val_bpb, r.status, r.description, r.commit, r.ok)
            for n, r in enumerate(results.rows)]


def running_best(results: Results) -> list[tuple[int, float]]:
    """(row, best kept val_bpb so far) from the first counted keep on."""
    return [(n, best) for n, best in enumerate(results.running_best()) if best is not None]


@dataclass
class Hit:
    n: int
    commit: str
    val_bpb: float
    previous: float
    description: str

    @property
    def improvement(self) -> float:
        return self.previous - self.val_bpb

    @property
    def share(self) -> float:
        return self.improvement / self.previous if self.previous else 0.0


def top_hits(results: Results, limit: int | None = 10) -> list[Hit]:
    """Each keep after the first, with its gain over the best before it; biggest first."""
    hits, best = [], None
    for n, row in enumerate(results.rows):
        if not row.counts:
            continue
        if best is not None:
            hits.append(Hit(n, row.commit, row.val_bpb, best, row.description))
        best = row.val_bpb if best is None else min(best, row.val_bpb)
    hits.sort(key=lambda h: (-h.improvement, h.n))
    return hits[:limit] if limit is not None else hits


# -- the meta-analysis timeline ------------------------------------------------------


@dataclass
class Tested:
    id: str
    rank: int | None
    change: str
    expected: str
    confidence: str
    reason: str
    verdict: str = "pending"  # until a later analysis or an experiment says otherwise
    experiment: int | None = None
    delta: float | None = None


@dataclass
class Analysis:
    number: int
    trigger: str
    analyst: str
    fallback: str | None
    experiments: int | None
    best_val_bpb: float | None
    best_commit: str
    program_version: int | None
    hypotheses: list[Tested] = field(default_factory=list)


def meta_timeline(events: list[dict]) -> list[Analysis]:
    """Every ``meta_analysis`` event with its hypotheses and what became of them.

    A verdict recorded by a later analysis wins; otherwise the experiment that
    tested a hypothesis (``experiment_result.hypothesis.id``) decides it.
    Malformed fields are read as missing, never fatal.
    """
    analyses = [_analysis(e, i) for i, e in enumerate(events, 1)
                if e.get("type") == "meta_analysis"]
    by_id = {h.id: h for a in analyses for h in a.hypotheses}
    for event in events:
        if event.get("type") == "experiment_result":
            _from_experiment(by_id, event)
    for event in events:
        if event.get("type") == "meta_analysis":
            for verdict in _list(event.get("verdicts")):
                _from_verdict(by_id, verdict)
    return analyses


def _analysis(event: dict, position: int) -> Analysis:
    best = event.get("best") if isinstance(event.get("best"), dict) else {}
    number = event.get("analysis")
    return Analysis(
        number=number if isinstance(number, int) else position,
        trigger=str(event.get("trigger") or "?"), analyst=str(event.get("analyst") or "?"),
        fallback=event.get("fallback") if isinstance(event.get("fallback"), str) else None,
        experiments=_int(event.get("experiments")), best_val_bpb=_float(best.get("val_bpb")),
        best_commit=str(best.get("commit") or ""),
        program_version=_int(event.get("program_version")),
        hypotheses=[_hypothesis(h, i) for i, h in enumerate(_list(event.get("hypotheses")), 1)
                    if isinstance(h, dict)])


def _hypothesis(item: dict, position: int) -> Tested:
    rank = _int(item.get("rank")) or position
    return Tested(id=str(item.get("id") or f"#{rank}"), rank=rank,
                  change=str(item.get("change") or item.get("text") or ""),
                  expected=str(item.get("expected") or ""),
                  confidence=str(item.get("confidence") or ""),
                  reason=str(item.get("reason") or ""))


def _from_experiment(by_id: dict[str, Tested], event: dict) -> None:
    hyp = event.get("hypothesis")
    tested = by_id.get(str(hyp.get("id"))) if isinstance(hyp, dict) else None
    verdict = _FROM_STATUS.get(str(event.get("status")))
    if tested is None or verdict is None or tested.experiment is not None:
        return  # the first experiment that tested a hypothesis decides it
    tested.verdict, tested.experiment = verdict, _int(event.get("round"))
    val, before = _float(event.get("val_bpb")), _float(event.get("best_before"))
    if verdict != "crashed" and val is not None and before is not None:
        tested.delta = val - before


def _from_verdict(by_id: dict[str, Tested], item) -> None:
    if not isinstance(item, dict) or str(item.get("id")) not in by_id:
        return
    tested = by_id[str(item["id"])]
    if item.get("verdict") in VERDICTS:
        tested.verdict = item["verdict"]
    tested.experiment = _int(item.get("experiment"), tested.experiment)
    tested.delta = _float(item.get("delta"), tested.delta)


# -- time and cost -------------------------------------------------------------------


@dataclass
class Spending:
    experiments: int = 0      # results recorded, baselines included
    baselines: int = 0
    total_s: float = 0.0
    training_s: float = 0.0
    propose_s: float = 0.0
    wall_s: float | None = None  # first event to last, pauses between resumes included
    usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    analyses: int = 0

    @property
    def overhead_s(self) -> float:
        return max(0.0, self.total_s - self.training_s - self.propose_s)

    @property
    def per_hour(self) -> float | None:
        """Experiments (baselines not counted) per hour of experiment time, as status says."""
        done = self.experiments - self.baselines
        return done / (self.total_s / 3600) if self.total_s else None


def spending(events: list[dict]) -> Spending:
    """Time per experiment and model cost (proposers and analysts), from events."""
    spent = Spending()
    for event in events:
        kind = event.get("type")
        if kind == "experiment_result":
            timing = event.get("timing") if isinstance(event.get("timing"), dict) else {}
            spent.experiments += 1
            spent.baselines += event.get("kind") == "baseline"
            spent.total_s += _float(timing.get("total_s"), 0.0)
            spent.training_s += _float(timing.get("training_seconds"), 0.0)
            spent.propose_s += _float(timing.get("propose_s"), 0.0)
        if kind == "meta_analysis":
            spent.analyses += 1
        if kind in ("experiment_result", "meta_analysis"):
            _add_cost(spent, event.get("cost") or event.get("usage"))
    stamps = [t for t in (parse_ts(e.get("ts")) for e in events) if t]
    if len(stamps) > 1:
        spent.wall_s = (max(stamps) - min(stamps)).total_seconds()
    return spent


def _add_cost(spent: Spending, cost) -> None:
    if not isinstance(cost, dict):
        return
    spent.usd += _float(cost.get("usd"), 0.0)
    spent.input_tokens += _int(cost.get("input_tokens"), 0)
    spent.output_tokens += _int(cost.get("output_tokens"), 0)
    spent.calls += _int(cost.get("calls"), 0)


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _int(value, default=None):
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _float(value, default=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return float(value)
