"""The meta-loop: node runs alternating with feedback, so lessons accumulate.

Run N ralph runs of a node in series and promote recurring violations after
every K runs; each run starts from the lessons the previous ones earned.
``sandbox`` gives a demo or a notebook a private copy of a node, with no
lessons yet and its own runs folder, so the real BANS.md is never touched.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..budget import Budget
from ..errors import InputError
from ..harness import stop_requested
from ..lessons import FeedbackReport, check_writable, describe_feedback, feedback
from .loop import LoopResult, run_node
from ..models import Model
from ..nodes import Node, find_node, load_node
from ..reporting import end_with_report
from ..runs import runs_root


@dataclass
class MetaLoopResult:
    runs: list[LoopResult]
    feedback: list[FeedbackReport]
    bans: str

    @property
    def scores(self) -> list[float | None]:
        """Final score of each run, in order: the climb lessons should cause."""
        return [r.outcome.final_score for r in self.runs]


@dataclass
class Sandbox:
    node: Node      # the private copy
    runs: Path      # its runs root
    seed: str       # the node's sample-seed.md, or ""


def sandbox(name: str, folder: Path | str | None = None) -> Sandbox:
    """Copy node ``name`` into ``folder/nodes/`` with an empty BANS.md; runs go
    to ``folder/runs/``. The default folder is fresh under the runs root."""
    shipped = find_node(name)
    if folder is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        folder = runs_root() / "sandbox" / f"{name}-{stamp}"
    folder = Path(folder)
    if (folder / "nodes" / name).exists():
        raise InputError(f"sandbox already holds node {name}: {folder / 'nodes' / name}")
    node_dir = folder / "nodes" / name
    shutil.copytree(shipped.path, node_dir, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    (node_dir / "BANS.md").write_text("", encoding="utf-8")
    seed = node_dir / "sample-seed.md"
    return Sandbox(load_node(node_dir, name), folder / "runs",
                   seed.read_text(encoding="utf-8") if seed.is_file() else "")


def run_meta_loop(node: Node, seed: str, model_factory: Callable[[], Model], *,
                  runs: int, feedback_every: int = 1, window: int = 5, threshold: int = 2,
                  budget: Budget | None = None, root: Path | None = None,
                  out: Callable[[str], None] = print, report: bool = False) -> MetaLoopResult:
    """Run ``runs`` node runs with feedback after every ``feedback_every``.

    A ``STOP`` file ends the meta-loop after the run in flight (and its
    feedback): in that run's folder (it ends the run too, ``aborted``) or in
    the node's runs folder ``<runs root>/<node>/`` (the run goes to its end).

    With ``report``, each run ends with its executed report, built after the
    feedback that follows it so the lessons it caused are in it."""
    if runs < 1 or feedback_every < 1:
        raise InputError("--runs and --feedback-every must be at least 1")
    check_writable(node.bans_path)  # refuse before the first run, not after it
    out(f"meta-loop: node={node.name} runs={runs} feedback_every={feedback_every}")
    results, reports = [], []
    stop_folder = (root or runs_root()) / node.name
    for i in range(1, runs + 1):
        asked = stop_requested(stop_folder)
        if asked:
            out(f"\nmeta-loop: stopped by {asked} in {stop_folder} after run {i - 1}")
            break
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
        if result.stopped:  # STOP in the run's folder ends the meta-loop with it
            out(f"\nmeta-loop: stopped by {result.stopped} in {result.run_dir} after run {i}")
            break
    bans = node.bans()
    out(f"\nmeta-loop: done. Final BANS.md ({node.bans_path}):\n-----\n"
        f"{bans.rstrip() or '(empty)'}\n-----")
    return MetaLoopResult(results, reports, bans)
