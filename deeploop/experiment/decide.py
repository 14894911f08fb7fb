"""Pure decisions of the experiment loop, over plain data.

- ``crash_reason``: did a training run crash (and why)? (before scoring)
- ``decide_keep``: keep iff val_bpb beats the best kept by more than min_delta.
- ``judge``: both, over the harness's score, giving the row's status, score
  and memory; train.py's printed val_bpb is only compared (``score_mismatch``).
- ``breakthroughs``: which notification thresholds the best has crossed.
- ``noise_sigma`` and ``noise_min_delta``: run-to-run noise from repeated
  baselines (pooled with the pairs of runs confirmations make), and the
  min-delta it implies: keep_sigma (2 by default) standard errors of the
  difference between one run and the best, whose figure is a mean of
  ``best_runs`` runs (sigma x sqrt(1 + 1/best_runs)).
- ``needs_confirmation`` and ``confirmed``: any gain above one standard
  error is trained again before it can be kept, and the fresh run must
  clear the margin on its own (the first run was picked for being low: on
  its own it is luck as often as not), and the mean of the two the margin
  of a mean of two runs. Without confirmation one run decides.

Why: with the margin applied to one run, against sigma rather than the
standard error, and confirmation only for gains under the margin, a change
with no effect was kept in about 1 experiment in 9 (sigma from 4 runs is
often too small). Simulated (bench/noise_decisions.py) over 40 zero-effect
experiments after 3 noise runs: 0.83 false keeps on average before (none in 31 % of runs), 0.22 now
(none in 79 %); the price is power: a 4-sigma effect is kept 91 % of the
time (99 % before). More noise runs buy both back slowly (sigma is pooled
from every confirmation pair as the run goes on).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace

from .results import RowStatus
from .trainer import TrainResult
from .score import Score, mismatch


@dataclass(frozen=True)
class Verdict:
    """What the harness decided about one experiment, with the figures it decided on."""
    status: RowStatus
    reason: str
    val_bpb: float | None = None
    memory_gb: float | None = None
    score_mismatch: float | None = None  # |printed - harness| when more than rounding


def stop_note(result: TrainResult) -> str:
    """What the harness's clock did, for a reason line ('' when nothing)."""
    if result.killed == "timeout":
        return (f"ignored the stop at {result.deadline_s:g} s and was killed "
                f"{result.wall_seconds:.0f} s after launch")
    if result.stopped:
        return f"stopped at the deadline ({result.deadline_s:g} s after launch)"
    return ""


def crash_reason(result: TrainResult) -> str | None:
    """Why a training run is a crash before anything is scored, or None.
    A trainer the harness stopped at the deadline is scored on what it saved."""
    if result.killed == "memory":
        return "killed: memory use passed the cap"
    if result.fail_line:
        return result.fail_line[:200]
    if result.returncode not in (0, None) and not result.stopped:
        return f"exit code {result.returncode}"
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


def judge(result: TrainResult, score: Score | None, best: float | None,
          min_delta: float = 0.0) -> Verdict:
    """The row's verdict from the training run and the harness's score of it
    (None when training already crashed)."""
    note = stop_note(result)
    crashed = crash_reason(result)
    if crashed is None and (score is None or score.val_bpb is None):
        crashed = score.reason if score is not None and score.reason else "not scored"
    if crashed is None and not score.val_bpb > 0:
        crashed = f"nonsense score: val_bpb {score.val_bpb}"
    if crashed is not None:
        return Verdict(RowStatus.CRASH, "; ".join(filter(None, (crashed, note))))
    memory_gb = result.summary.get("peak_vram_mb", 0.0) / 1024
    status, why = decide_keep(score.val_bpb, best, min_delta)
    return Verdict(status, "; ".join(filter(None, (why, note))), score.val_bpb, memory_gb,
                   mismatch(result.summary.get("val_bpb"), score.val_bpb))


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


def noise_sigma(values: list[float], pairs: list[tuple[float, float]] = ()) -> float | None:
    """Run-to-run noise: the sample standard deviation of repeated
    measurements of one configuration (``values``), pooled with ``pairs``
    (two runs of one configuration each, one degree of freedom apiece).
    None below two values and no pair."""
    squares, dof = 0.0, 0
    if len(values) >= 2:
        mean = statistics.fmean(values)
        squares, dof = sum((v - mean) ** 2 for v in values), len(values) - 1
    for a, b in pairs:
        squares, dof = squares + (a - b) ** 2 / 2, dof + 1
    return math.sqrt(squares / dof) if dof else None


def standard_error(sigma: float, best_runs: int = 1, runs: int = 1) -> float:
    """Of the difference between a mean of ``runs`` runs and the best's
    figure, a mean of ``best_runs`` runs."""
    return sigma * math.sqrt(1 / runs + 1 / max(best_runs, 1))


def noise_min_delta(sigma: float | None, keep_sigma: float = 2.0, best_runs: int = 1,
                    runs: int = 1) -> float:
    """Keep only gains above ``keep_sigma`` standard errors: a lucky run is not progress."""
    return round(keep_sigma * standard_error(sigma, best_runs, runs), 6) if sigma else 0.0


def needs_confirmation(verdict: Verdict, best: float | None, sigma: float | None,
                       best_runs: int = 1) -> bool:
    """A scored run whose gain over the best is above one standard error:
    a fresh run tells luck from an effect before anything is kept."""
    if not sigma or best is None or verdict.val_bpb is None or verdict.status == RowStatus.CRASH:
        return False
    return round(best - verdict.val_bpb, 6) > round(standard_error(sigma, best_runs), 6)


def confirmed(verdict: Verdict, again: float | None, best: float, sigma: float,
              keep_sigma: float = 2.0, best_runs: int = 1) -> Verdict:
    """The verdict once the confirming run is in: kept when the fresh run
    beats the best by the one-run margin and the mean of the two by the
    margin of a mean of two; the figure recorded is the mean. A crashed
    re-run confirms nothing."""
    if again is None:
        return replace(verdict, status=RowStatus.DISCARD,
                       reason=f"{verdict.reason}; the confirming run crashed: discarded")
    mean = round((verdict.val_bpb + again) / 2, 6)
    fresh_margin = noise_min_delta(sigma, keep_sigma, best_runs)
    mean_margin = noise_min_delta(sigma, keep_sigma, best_runs, runs=2)
    fresh, gain = round(best - again, 6), round(best - mean, 6)
    if fresh > fresh_margin and gain > mean_margin:
        status, why = RowStatus.KEEP, (
            f"confirmed: the re-run {again:.6f} beats {best:.6f} by {fresh:.6f} "
            f"(> {fresh_margin:g}), the mean of two runs {mean:.6f} by {gain:.6f} (> {mean_margin:g})")
    elif fresh <= fresh_margin:
        status, why = RowStatus.DISCARD, (
            f"not confirmed: the re-run {again:.6f} gains {fresh:.6f}, not above {fresh_margin:g}")
    else:
        status, why = RowStatus.DISCARD, (
            f"not confirmed: mean of two runs {mean:.6f}, gain {gain:.6f} is not above {mean_margin:g}")
    return replace(verdict, status=status, reason=why, val_bpb=mean)


def breakthroughs(baseline: float | None, best: float | None,
                  thresholds: dict[str, float]) -> list[str]:
    """Kinds whose relative improvement over the baseline has been reached
    (``{"breakthrough": 0.01}`` means best ≤ 99 % of the baseline)."""
    if not baseline or not best or best <= 0:
        return []
    gain = (baseline - best) / baseline
    return [kind for kind, share in thresholds.items() if gain >= share]
