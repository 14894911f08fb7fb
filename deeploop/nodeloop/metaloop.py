"""The meta-loop: node runs alternating with feedback, so lessons accumulate.

Run N ralph runs of a node in series and promote recurring violations after
every K runs; each run starts from the lessons the previous ones earned.
``sandbox`` gives a demo or a notebook a private copy of a node, with no
lessons yet and its own runs folder, so the real BANS.md is never touched.

``meta_loop_steps`` is the loop, a generator of step records (the node runs'
events among them) that ``harness.drive`` runs; ``run_meta_loop`` drives it
and prints each step (``printer``).
"""
from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Generator

from ..budget import Budget
from ..errors import InputError
from ..harness import drive, stop_requested
from ..lessons import FeedbackReport, check_writable, describe_feedback, feedback
from .loop import LoopResult, node_steps
from ..models import Model
from ..nodes import Node, find_node, load_node
from ..reporting import end_with_report
from ..runs import Status, runs_root


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
                  out: Callable[[str], None] = print, report: bool = False,
                  stop: threading.Event | None = None) -> MetaLoopResult:
    """Run ``runs`` node runs with feedback after every ``feedback_every``,
    saying how it goes through ``out`` (``meta_loop_steps`` driven to its end)."""
    steps = meta_loop_steps(node, seed, model_factory, runs=runs, feedback_every=feedback_every,
                            window=window, threshold=threshold, budget=budget, root=root,
                            report=report, stop=stop)
    return drive(steps, [printer(out)])


def meta_loop_steps(node: Node, seed: str, model_factory: Callable[[], Model], *,
                    runs: int, feedback_every: int = 1, window: int = 5, threshold: int = 2,
                    budget: Budget | None = None, root: Path | None = None,
                    report: bool = False,
                    stop: threading.Event | None = None) -> Generator[dict, None, MetaLoopResult]:
    """The meta-loop as a generator of step records, returning its
    ``MetaLoopResult``: ``meta_loop_started``; per run ``meta_run_started``,
    the node run's own events (``nodeloop.loop.node_steps``), ``meta_run_ended``,
    ``feedback`` (every ``feedback_every`` runs), ``meta_report``; then
    ``meta_loop_stopped`` if asked to, and ``meta_loop_done``. Closed mid-run,
    the run in flight ends ``aborted`` (resumable).

    Asked to stop, the meta-loop ends after the run in flight (and its
    feedback) and starts no other: by ``stop`` set (a notebook's Stop
    button; handed to every node run, it ends the run in flight after its
    round in flight, ``paused``), by a ``STOP`` file in that run's folder
    (the same; one dropped in its last round, after the run ended on its
    own, still stops the meta-loop), or by one in the node's runs folder
    ``<runs root>/<node>/`` (the run goes to its end). A run paused so is the
    meta-loop stopped, not a failed run: ``deeploop loop NODE --resume
    RUN_ID`` finishes that run on its own; the meta-loop is not resumed.

    With ``report``, each run ends with its executed report, built after the
    feedback that follows it so the lessons it caused are in it."""
    if runs < 1 or feedback_every < 1:
        raise InputError("--runs and --feedback-every must be at least 1")
    check_writable(node.bans_path)  # refuse before the first run, not after it
    return _steps(node, seed, model_factory, runs, feedback_every, window, threshold, budget,
                  root, report, stop)


def _steps(node, seed, model_factory, runs, feedback_every, window, threshold, budget, root,
           report, stop) -> Generator[dict, None, MetaLoopResult]:
    yield {"type": "meta_loop_started", "node": node.name, "runs": runs,
           "feedback_every": feedback_every}
    results, reports = [], []
    stop_folder = (root or runs_root()) / node.name
    for i in range(1, runs + 1):
        asked = stop_requested(stop_folder, stop)
        if asked:
            yield _stopped(asked, stop_folder, i - 1)
            break
        yield {"type": "meta_run_started", "run": i, "runs": runs}
        result = yield from node_steps(node, seed, model_factory(), budget=budget, root=root,
                                       stop=stop)
        o = result.outcome
        yield {"type": "meta_run_ended", "run": i, "run_dir": str(result.run_dir),
               "status": o.status, "rounds": o.rounds, "final_score": o.final_score}
        results.append(result)
        if i % feedback_every == 0:
            reports.append(feedback(node, window=window, threshold=threshold, root=root))
            yield {"type": "feedback", "after_run": i, "report": reports[-1], "node": node.name,
                   "window": window, "bans_path": str(node.bans_path)}
        result.report = end_with_report(result.run_dir, enabled=report)
        if result.report:
            yield {"type": "meta_report", "run": i, "path": str(result.report)}
        asked = result.stopped or stop_requested(result.run_dir)  # the run's STOP: ours too
        if asked:
            yield _stopped(asked, result.run_dir, i)
            break
    bans = node.bans()
    yield {"type": "meta_loop_done", "bans": bans, "bans_path": str(node.bans_path)}
    return MetaLoopResult(results, reports, bans)


def _stopped(source: str, where: Path, after_run: int) -> dict:
    """``where`` is the folder the STOP file was in; None for the stop event."""
    return {"type": "meta_loop_stopped", "source": source, "after_run": after_run,
            "where": str(where) if source == "STOP file" else None}


def describe_step(step: dict) -> str | None:
    """The line ``deeploop meta-loop`` prints for a meta-loop step; None for
    the node runs' own events."""
    kind = step.get("type")
    if kind == "meta_loop_started":
        return (f"meta-loop: node={step['node']} runs={step['runs']} "
                f"feedback_every={step['feedback_every']}")
    if kind == "meta_run_started":
        return f"\n=== run {step['run']} / {step['runs']} ==="
    if kind == "meta_run_ended":
        line = f"  -> {step['status']} in {step['rounds']} rounds (score={step['final_score']})"
        if step["status"] == Status.PAUSED:  # stopped, not failed: it can be finished alone
            run = Path(step["run_dir"])
            line += f"; finish it with: deeploop loop {run.parent.name} --resume {run.name}"
        return line
    if kind == "feedback":
        return describe_feedback(step["report"], step["node"], step["window"],
                                 Path(step["bans_path"]))
    if kind == "meta_report":
        return f"  report: {step['path']}"
    if kind == "meta_loop_stopped":
        where = f" in {step['where']}" if step.get("where") else ""
        return f"\nmeta-loop: stopped by {step['source']}{where} after run {step['after_run']}"
    if kind == "meta_loop_done":
        return (f"\nmeta-loop: done. Final BANS.md ({step['bans_path']}):\n-----\n"
                f"{step['bans'].rstrip() or '(empty)'}\n-----")
    return None


def printer(out: Callable[[str], None] = print) -> Callable[[dict], None]:
    """A listener that says each meta-loop step through ``out``."""
    def listener(step: dict) -> None:
        line = describe_step(step)
        if line is not None:
            out(line)
    return listener
