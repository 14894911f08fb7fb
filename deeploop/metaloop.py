"""The meta-loop: node runs alternating with feedback, so lessons accumulate.

Run N ralph runs of a node in series and promote recurring violations after
every K runs; each run starts from the lessons the previous ones earned.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .budget import Budget
from .errors import InputError
from .lessons import FeedbackReport, describe_feedback, feedback
from .loop import LoopResult, run_node
from .models import Model
from .nodes import Node
from .reporting import end_with_report


@dataclass
class MetaLoopResult:
    runs: list[LoopResult]
    feedback: list[FeedbackReport]
    bans: str


def run_meta_loop(node: Node, seed: str, model_factory: Callable[[], Model], *,
                  runs: int, feedback_every: int = 1, window: int = 5, threshold: int = 2,
                  budget: Budget | None = None, root: Path | None = None,
                  out: Callable[[str], None] = print, report: bool = False) -> MetaLoopResult:
    """Run ``runs`` node runs with feedback after every ``feedback_every``.

    With ``report``, each run ends with its executed report, built after the
    feedback that follows it so the lessons it caused are in it."""
    if runs < 1 or feedback_every < 1:
        raise InputError("--runs and --feedback-every must be at least 1")
    out(f"meta-loop: node={node.name} runs={runs} feedback_every={feedback_every}")
    results, reports = [], []
    for i in range(1, runs + 1):
        out(f"\n=== run {i} / {runs} ===")
        result = run_node(node, seed, model_factory(), budget=budget, root=root)
        o = result.outcome
        out(f"  -> {o.status} in {o.rounds} rounds (score={o.final_score})")
        results.append(result)
        if i % feedback_every == 0:
            feedback_report = feedback(node, window=window, threshold=threshold, root=root)
            reports.append(feedback_report)
            out(describe_feedback(feedback_report, node.name, window, node.bans_path))
        result.report = end_with_report(result.run_dir, enabled=report)
        if result.report:
            out(f"  report: {result.report}")
    bans = node.bans()
    out(f"\nmeta-loop: done. Final BANS.md ({node.bans_path}):\n-----\n"
        f"{bans.rstrip() or '(empty)'}\n-----")
    return MetaLoopResult(results, reports, bans)
