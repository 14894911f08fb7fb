"""What an experiment run has done: ``deeploop status`` and the live progress bar.

Counts and the best score come from results.tsv, read the way every other
reader reads it (``Results.experiments``: well-formed rows, baselines not
counted; bad rows are listed as problems, and crash rows never count as
the best); time comes from the events, summed
over experiments so pauses between resumes are not counted. The progress
bar (tqdm) only reads the loop's events; the loop never knows it is there.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..events import read_events
from ..progressbar import EventBar
from .results import Results, Row, RowStatus, read_results


@dataclass
class ExperimentStatus:
    name: str
    experiments: int
    kept: int
    discarded: int
    crashed: int
    best: Row | None
    baseline: Row | None
    rejected: int = 0
    malformed: int = 0  # rows that could not be read (not experiments; listed as problems)
    elapsed_s: float | None = None
    problems: list[str] = field(default_factory=list)
    analyses: list[dict] = field(default_factory=list)  # meta_analysis events
    flagged: list[dict] = field(default_factory=list)  # results with training warnings
    noise: dict | None = None  # the last noise_estimated event: sigma, min_delta, keep_sigma
    sandbox: dict | None = None  # of the last run: {"kind", "reason"}
    mismatches: int = 0  # experiments whose printed val_bpb disagreed with the harness's

    @property
    def delta(self) -> float | None:
        if self.best and self.baseline and self.baseline.val_bpb:
            return self.best.val_bpb - self.baseline.val_bpb
        return None

    @property
    def per_hour(self) -> float | None:
        if not self.elapsed_s:
            return None
        return (self.experiments + self.rejected) / (self.elapsed_s / 3600)

    def to_json(self) -> dict:
        return {"name": self.name, "experiments": self.experiments, "kept": self.kept,
                "discarded": self.discarded, "crashed": self.crashed, "rejected": self.rejected,
                "malformed": self.malformed,
                "best": self.best.to_json() if self.best else None,
                "baseline_val_bpb": self.baseline.val_bpb if self.baseline else None,
                "delta": self.delta, "elapsed_s": self.elapsed_s,
                "experiments_per_hour": self.per_hour, "problems": self.problems,
                "meta_analyses": len(self.analyses),
                "flagged": [{"round": e.get("round"), "warnings": e.get("warnings")}
                            for e in self.flagged],
                "sigma": (self.noise or {}).get("sigma"),
                "keep_threshold": (self.noise or {}).get("min_delta"),
                "sandbox": self.sandbox, "score_mismatches": self.mismatches,
                "program_version": self.analyses[-1].get("program_version")
                if self.analyses else None}


def summarize(results: Results, events: list[dict] | None = None,
              name: str = "") -> ExperimentStatus:
    done = [e for e in events or [] if e.get("type") == "experiment_result"]
    elapsed = sum(float((e.get("timing") or {}).get("total_s") or 0) for e in done)
    return ExperimentStatus(
        name=name or str(results.path or "results.tsv"),
        experiments=len(results.experiments()),
        kept=results.count(RowStatus.KEEP), discarded=results.count(RowStatus.DISCARD),
        crashed=results.count(RowStatus.CRASH), best=results.best(),
        baseline=results.baseline(),
        rejected=sum(1 for e in done if e.get("status") == "rejected"),
        malformed=len(results.malformed()),
        elapsed_s=elapsed if done else None, problems=results.problems,
        analyses=[e for e in events or [] if e.get("type") == "meta_analysis"],
        flagged=[e for e in done if e.get("warnings")],
        noise=_last(events, "noise_estimated"),
        sandbox=(_last(events, "experiment_run_started") or {}).get("sandbox"),
        mismatches=sum(1 for e in done if e.get("score_mismatch")))


def _last(events: list[dict] | None, kind: str) -> dict | None:
    return next((e for e in reversed(events or []) if e.get("type") == kind), None)


def load_status(run_dir: Path, name: str = "") -> ExperimentStatus:
    journal = read_events(run_dir / "events.jsonl")
    status = summarize(read_results(run_dir / "results.tsv"), journal.events, name)
    status.problems += journal.problems
    return status


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def format_status(status: ExperimentStatus) -> str:
    lines = [f"experiment {status.name}",
             f"experiments:  {status.experiments} (baseline not counted)"]
    if status.best:
        lines.append(f"best val_bpb: {status.best.val_bpb:.6f} "
                     f"(commit {status.best.commit}: {status.best.description})")
    else:
        lines.append("best val_bpb: none yet")
    if status.baseline and status.delta is not None:
        share = 100 * status.delta / status.baseline.val_bpb
        lines.append(f"baseline:     {status.baseline.val_bpb:.6f}  "
                     f"delta {status.delta:+.6f} ({share:+.2f}%)")
    counts = f"{status.kept} / {status.discarded} / {status.crashed}"
    lines.append(f"kept / discarded / crashed: {counts}"
                 + (f"   malformed rows: {status.malformed}" if status.malformed else "")
                 + (f"   rejected proposals: {status.rejected}" if status.rejected else ""))
    noise = status.noise or {}
    if noise.get("sigma"):
        given = " (--min-delta given)" if noise.get("min_delta_given") else (
            f" ({noise.get('keep_sigma', 2):g} standard errors)")
        lines.append(f"noise:        sigma {noise['sigma']:.6f} from {len(noise.get('samples', []))}"
                     f" baseline runs; keep threshold {noise.get('min_delta', 0):.6f}{given}")
    elif noise:  # estimated, but no spread to set a threshold by
        keep = (f"keep threshold {noise.get('min_delta', 0):.6f} (--min-delta given)"
                if noise.get("min_delta_given") else "any gain at all is kept")
        seen = (f"none: {len(noise.get('samples', []))} baseline runs scored the same"
                if noise.get("sigma") == 0 else
                "not measured (fewer than two baseline runs scored)")
        lines.append(f"noise:        {seen}; {keep}")
    else:
        lines.append("noise:        not measured (--noise-runs 0): any gain at all is kept")
    if status.sandbox and status.sandbox.get("kind") != "bwrap":
        lines.append(f"sandbox:      none ({status.sandbox.get('reason')})")
    if status.mismatches:
        lines.append(f"score mismatches: {status.mismatches} (train.py printed a val_bpb that "
                     "is not the harness's)")
    if status.elapsed_s is not None:
        rate = f"{status.per_hour:.1f}" if status.per_hour else "n/a"
        lines.append(f"elapsed:      {_clock(status.elapsed_s)}   experiments/hour: {rate}")
    if status.analyses:
        last = status.analyses[-1]
        lines.append(f"meta-analyses: {len(status.analyses)} (last after {last.get('experiments')} "
                     f"experiments; program.md v{last.get('program_version')})")
    if status.flagged:
        rounds = ", ".join(str(e.get("round")) for e in status.flagged[:10])
        more = f" and {len(status.flagged) - 10} more" if len(status.flagged) > 10 else ""
        lines.append(f"flagged:      {len(status.flagged)} experiment(s) whose score says "
                     f"little (rounds {rounds}{more}): {status.flagged[-1]['warnings'][0]}")
    lines += [f"problem: {p}" for p in status.problems]
    return "\n".join(lines)


# -- live progress ----------------------------------------------------------------


def time_left(runs: int, remaining: int, spent_s: float, hours: float | None) -> float | None:
    """Seconds left: the average run so far (baseline included) times the
    experiments remaining, capped by the wall-clock budget. Pure."""
    estimate = 0.0 if remaining <= 0 else (spent_s / runs * remaining if runs else None)
    if hours is not None:
        cap = max(0.0, hours * 3600 - spent_s)
        estimate = cap if estimate is None else min(estimate, cap)
    return estimate


class ProgressBar(EventBar):
    """Experiments done, best val_bpb and time left, updated from events."""

    def __init__(self, total: int, done: int, best: float | None, hours: float | None,
                 disable: bool = False, clock: Callable[[], float] = time.monotonic):
        super().__init__(total, done, unit="exp", desc="experiments", disable=disable)
        self.runs, self.best, self.hours = 0, best, hours
        self.clock, self.started = clock, clock()
        self._update_postfix()

    def _update_postfix(self) -> None:
        best = f"{self.best:.6f}" if self.best else "-"
        left = time_left(self.runs, self.total - self.done, self.clock() - self.started,
                         self.hours)
        self.show(f"best val_bpb {best} | left {_clock(left)}")

    def __call__(self, event: dict) -> None:
        if event.get("type") != "experiment_result":
            return
        self.runs += 1
        if event.get("status") == "keep" and event.get("val_bpb"):
            self.best = min(self.best or event["val_bpb"], event["val_bpb"])
        trained = event.get("status") in ("keep", "discard", "crash")  # rejections train nothing
        if trained and event.get("kind") != "baseline":
            self.step()
        self._update_postfix()
