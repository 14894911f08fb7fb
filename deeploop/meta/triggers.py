"""When the meta tier steps back: pure decisions over counts and scores.

Experiments: after every ``interval`` non-baseline experiments (after the
12th and 24th, not the 11th or 13th), and right after a keep that beats the
previous best by more than ``threshold`` (exactly the threshold does not
trigger). The threshold is ``BIG_WIN_SIGMA`` x the measured noise when there
is a noise estimate and no threshold was given (a big win is twice the keep
margin, so noise never looks like one), else 0.003. Research: after every
cohort of ``size`` entries.
"""
from __future__ import annotations

DEFAULT_INTERVAL = 12
DEFAULT_THRESHOLD = 0.003
BIG_WIN_SIGMA = 4.0


def big_win_threshold(given: float | None, sigma: float | None,
                      sigmas: float = BIG_WIN_SIGMA) -> float:
    """The big-win margin: as given, else ``sigmas`` x sigma, else the default."""
    if given is not None:
        return given
    return round(sigmas * sigma, 6) if sigma else DEFAULT_THRESHOLD
COHORT_SIZE = 5


def interval_due(experiments: int, interval: int = DEFAULT_INTERVAL) -> bool:
    return experiments > 0 and experiments % interval == 0


def big_win(previous_best: float | None, new_value: float,
            threshold: float = DEFAULT_THRESHOLD) -> bool:
    """A keep beating the previous best by more than ``threshold``.

    Values are compared at results.tsv precision (6 decimals) so that a gain
    of exactly the threshold does not trigger through float noise.
    """
    if previous_best is None:
        return False
    return round(previous_best - new_value, 6) > threshold


def meta_trigger(experiments: int, *, kept: bool, previous_best: float | None,
                 value: float | None, interval: int = DEFAULT_INTERVAL,
                 threshold: float = DEFAULT_THRESHOLD) -> str | None:
    """Why an analysis is due after this experiment, or None."""
    if kept and value is not None and big_win(previous_best, value, threshold):
        return f"big win: {previous_best:.6f} -> {value:.6f} (more than {threshold:g})"
    if interval_due(experiments, interval):
        return f"interval: {experiments} experiments (every {interval})"
    return None
