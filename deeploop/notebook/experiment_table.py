"""Every experiment in one table, and the lineage of kept commits.

Rows come from results.tsv (the truth, and all a bare autoresearch file
has); a run's ``experiment_started``/``experiment_result`` events add what
the file does not hold: the commit each experiment started from, the
hypothesis it tested, its optimiser steps and training seconds. Noise
(σ) is measured from the baseline's repeated runs when the run made some.
"""
from __future__ import annotations

from dataclasses import dataclass

from .viewkit import fixed, short

NOISE_PREFIX = "baseline (noise run"


@dataclass
class ExperimentRow:
    n: int
    status: str
    val_bpb: str
    delta: str
    margin: str
    commit: str
    base: str
    description: str
    hypothesis: str
    steps: str
    seconds: str
    score: float | None = None


def _hypothesis(event: dict) -> str:
    hyp = event.get("hypothesis")
    if not isinstance(hyp, dict):
        return ""
    name = hyp.get("id") or f"hypothesis {hyp.get('rank', '?')}"
    text = hyp.get("change") or hyp.get("text") or ""
    return f"{name}: {short(text, 100)}" if text else str(name)


def _by_round(events: list[dict], kind: str) -> dict:
    return {e.get("round"): e for e in events if e.get("type") == kind}


def noise(results, events: list[dict] | None = None) -> tuple[float | None, int]:
    """(σ of the baseline's repeated measurements, how many): the run's own
    ``noise_estimated`` event when it recorded one, else from the rows."""
    from ..experiment.decide import noise_sigma
    estimate = next((e for e in reversed(events or []) if e.get("type") == "noise_estimated"
                     and isinstance(e.get("sigma"), (int, float)) and e["sigma"] > 0), None)
    if estimate is not None:
        runs = estimate.get("runs") or estimate.get("samples") or 0
        return float(estimate["sigma"]), len(runs) if isinstance(runs, list) else int(runs)
    values = [r.val_bpb for r in results.rows if r.ok and r.val_bpb and (
        r.description == "baseline" or r.description.startswith(NOISE_PREFIX))]
    repeated = sum(r.description.startswith(NOISE_PREFIX) for r in results.rows)
    return (noise_sigma(values), len(values)) if repeated else (None, 0)


def rows(results, events: list[dict]) -> list[ExperimentRow]:
    """One row per results.tsv row, numbered like the chart (0 = the first row)."""
    sigma, _ = noise(results, events)
    found = [e for e in events if e.get("type") == "experiment_result"]
    by_commit = {str(e.get("commit") or "")[:7]: e for e in found if e.get("commit")}
    started = _by_round(events, "experiment_started")
    out = []
    for n, (row, best) in enumerate(zip(results.rows, [None, *results.running_best()])):
        event = by_commit.get(row.commit[:7], {}) if row.commit else {}
        metrics = event.get("metrics") if isinstance(event.get("metrics"), dict) else {}
        scored = row.ok and row.val_bpb and row.status != "crash"
        delta = row.val_bpb - best if scored and best is not None else None
        recorded = event.get("margin_sigma")  # the loop's own figure, when it wrote one
        if isinstance(recorded, (int, float)):
            margin = f"{recorded:+.1f}σ"
        else:
            margin = f"{-delta / sigma:+.1f}σ" if delta is not None and sigma else "–"
        base = str((started.get(event.get("round")) or {}).get("base_commit") or "")[:7]
        steps, seconds = metrics.get("num_steps"), metrics.get("training_seconds")
        out.append(ExperimentRow(
            n, str(row.status), fixed(row.val_bpb) if scored else "–",
            "–" if delta is None else f"{delta:+.6f}", margin, row.commit[:7], base or "–",
            row.description, _hypothesis(event),
            "–" if steps is None else f"{steps:g}", "–" if seconds is None else f"{seconds:.1f}",
            row.val_bpb if scored else None))
    return out


@dataclass
class KeptNode:
    """A kept experiment in the lineage view, with what was tried from it."""
    commit: str
    n: int
    val_bpb: str
    description: str
    children: list
    open: bool = True

    @property
    def kept(self) -> int:
        return sum(c.status == "keep" for c in self.children)


def lineage(table: list[ExperimentRow]) -> list[KeptNode]:
    """Kept commits in order, each with the experiments that started from it.

    An experiment's start commit may be a ``meta:`` commit on top of a keep
    (the meta tier's notes); it then hangs off the last keep before it."""
    nodes: dict[str, KeptNode] = {}
    order: list[KeptNode] = []
    last: KeptNode | None = None
    for row in table:
        parent = nodes.get(row.base) or last
        if parent is not None and row.commit != parent.commit:
            parent.children.append(row)
        if row.status == "keep":
            last = KeptNode(row.commit, row.n, row.val_bpb, row.description, [])
            nodes[row.commit] = last
            order.append(last)
    return order
