"""Pure decisions of the experiment loop, over plain data.

- ``crash_reason``: did a training run crash (and why)?
- ``decide_keep``: keep iff val_bpb beats the best kept by more than min_delta.
- ``judge``: both, giving the row's status, score and memory.
- ``breakthroughs``: which notification thresholds the best has crossed.
- ``noise_sigma`` and ``noise_min_delta``: run-to-run noise from repeated
  baselines, and the min-delta it implies (2 sigma).
- ``training_warnings``: a score that says little about the change (no
  optimiser step taken, or training far over the budget).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

from .results import RowStatus
from .runner import TrainResult


@dataclass(frozen=True)
class Verdict:
    status: RowStatus
    reason: str
    val_bpb: float | None = None
    memory_gb: float | None = None


def crash_reason(result: TrainResult) -> str | None:
    """Why a run counts as a crash, or None if it produced a usable score."""
    if result.killed == "timeout":
        return f"timed out: killed after {result.wall_seconds:.0f} s"
    if result.killed == "memory":
        return "killed: memory use passed the cap"
    if result.fail_line:
        return result.fail_line[:200]
    if result.returncode not in (0, None):
        return f"exit code {result.returncode}"
    val_bpb = result.summary.get("val_bpb")
    if val_bpb is None:
        return "no summary: val_bpb missing from the output"
    if val_bpb <= 0:
        return f"nonsense score: val_bpb {val_bpb}"
    return None


def decide_keep(val_bpb: float, best: float | None,
                min_delta: float = 0.0) -> tuple[RowStatus, str]:
    """Keep strictly below ``best - min_delta`` (compared at 6 decimals, as
    recorded, so 1.500000 vs 1.450000 with min-delta 0.05 is not a keep);
    the first scored run is kept."""
    if best is None:
        return RowStatus.KEEP, "first scored run"
    gain = round(best - val_bpb, 6)  # at the precision results.tsv records
    if gain > min_delta:
        return RowStatus.KEEP, f"improves the best {best:.6f} by {gain:.6f}"
    if gain > 0:
        return RowStatus.DISCARD, f"gain {gain:.6f} is not above min-delta {min_delta:g}"
    return RowStatus.DISCARD, f"no better than the best {best:.6f}"


def judge(result: TrainResult, best: float | None, min_delta: float = 0.0) -> Verdict:
    reason = crash_reason(result)
    if reason is not None:
        return Verdict(RowStatus.CRASH, reason)
    val_bpb = result.summary["val_bpb"]
    memory_gb = result.summary.get("peak_vram_mb", 0.0) / 1024
    status, why = decide_keep(val_bpb, best, min_delta)
    return Verdict(status, why, val_bpb, memory_gb)


# Training seconds above budget * OVER_BUDGET_FACTOR + OVER_BUDGET_SLACK_S are "far over".
OVER_BUDGET_FACTOR = 1.5
OVER_BUDGET_SLACK_S = 5.0


def training_warnings(summary: dict, budget: float) -> list[str]:
    """What makes a scored run uninformative, one line each: no optimiser
    step (the score is the untrained model's, whatever the change), or
    training seconds far over the budget (the comparison is not fair)."""
    warnings = []
    steps = summary.get("num_steps")
    if steps is not None and steps < 1:
        warnings.append("zero optimiser steps: the score is the untrained model's "
                        "(budget too small for this train.py?)")
    seconds = summary.get("training_seconds")
    if seconds is not None and seconds > budget * OVER_BUDGET_FACTOR + OVER_BUDGET_SLACK_S:
        warnings.append(f"training took {seconds:.1f} s, far over the {budget:g} s budget")
    return warnings


def measured_only(verdict: Verdict) -> Verdict:
    """A noise run measures the baseline again: never a keep, so never the best."""
    if verdict.status == RowStatus.CRASH:
        return verdict
    return replace(verdict, status=RowStatus.DISCARD,
                   reason="noise run: the baseline measured again")


def noise_sigma(values: list[float]) -> float | None:
    """Sample standard deviation of repeated measurements (None below two)."""
    return statistics.stdev(values) if len(values) >= 2 else None


def noise_min_delta(sigma: float | None) -> float:
    """Keep only gains above two sigma of noise: a lucky run is not progress."""
    return round(2 * sigma, 6) if sigma else 0.0


def breakthroughs(baseline: float | None, best: float | None,
                  thresholds: dict[str, float]) -> list[str]:
    """Kinds whose relative improvement over the baseline has been reached
    (``{"breakthrough": 0.01}`` means best ≤ 99 % of the baseline)."""
    if not baseline or not best or best <= 0:
        return []
    gain = (baseline - best) / baseline
    return [kind for kind, share in thresholds.items() if gain >= share]
