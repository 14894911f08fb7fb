"""The search space the offline proposer moves in: how each knob steps.

Known knobs of the template get a sensible scale (learning rates move on a
log scale, depth by one, width in multiples of 32); a knob the agent added
gets a generic rule by type. ``prior`` says how often a knob tends to matter
for a short training budget, so the search tries the usual suspects first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..knobs import Value


@dataclass(frozen=True)
class KnobSpec:
    scale: str = "log"          # log | step | linear | one_minus | toggle | frozen
    step: float = 1.5           # factor (log, one_minus) or increment (step, linear)
    lo: float = -math.inf
    hi: float = math.inf
    multiple_of: int = 1
    prior: float = 0.3


CATALOGUE = {
    "LR": KnobSpec("log", 1.5, 1e-5, 1.0, prior=1.0),
    "MATRIX_LR": KnobSpec("log", 1.5, 1e-4, 1.0, prior=1.0),
    "EMBED_LR": KnobSpec("log", 1.5, 1e-5, 1.0, prior=0.7),
    "NGRAM_LR": KnobSpec("log", 1.5, 1e-4, 1.0, prior=0.5),
    "NGRAM_ORDER": KnobSpec("step", 1, 1, 8, prior=0.5),
    "NGRAM_BUCKETS": KnobSpec("log", 2, 1024, 2 ** 20, prior=0.3),
    "COUNT_MAX_ORDER": KnobSpec("log", 2, 1, 32, prior=0.4),  # count tables of orders 1..this
    "WINDOW_MAX_ORDER": KnobSpec("log", 2, 2, 32, prior=0.4),  # window counts of 3..this; 2: off
    "COUNT_DISCOUNT": KnobSpec("linear", 0.15, 0.05, 1.0, prior=0.3),  # of each window count
    "MOMENTUM": KnobSpec("one_minus", 1.5, 0.5, 0.99, prior=0.4),
    "DEPTH": KnobSpec("step", 1, 1, 16, prior=0.8),
    "WIDTH": KnobSpec("log", 1.25, 32, 1024, multiple_of=32, prior=0.8),
    "BATCH_SIZE": KnobSpec("log", 2, 1, 1024, prior=0.8),
    "SEQ_LEN": KnobSpec("log", 2, 16, 2048, multiple_of=16, prior=0.7),
    "HEADS": KnobSpec("log", 2, 1, 16, prior=0.4),
    "MLP_RATIO": KnobSpec("step", 1, 1, 8, prior=0.4),
    "WEIGHT_DECAY": KnobSpec("log", 2, 0.0, 2.0, prior=0.4),
    "BETA1": KnobSpec("one_minus", 1.5, 0.5, 0.99, prior=0.3),
    "BETA2": KnobSpec("one_minus", 1.5, 0.8, 0.9999, prior=0.3),
    "WARMUP_FRAC": KnobSpec("linear", 0.02, 0.0, 0.5, prior=0.3),
    "WARMDOWN_FRAC": KnobSpec("linear", 0.15, 0.0, 1.0, prior=0.5),
    "FINAL_LR_FRAC": KnobSpec("linear", 0.05, 0.0, 1.0, prior=0.2),
    "GRAD_CLIP": KnobSpec("log", 2, 0.0, 16.0, prior=0.2),
    "SEED": KnobSpec("frozen"),        # changing it measures noise, not progress
    "EVAL_BATCH": KnobSpec("frozen"),  # speed of evaluation only
}
ZERO_FLOOR = 0.005  # a log-scaled knob at zero steps up to this, and falls back to zero below it


def spec_for(name: str, value: Value) -> KnobSpec:
    if name in CATALOGUE:
        return CATALOGUE[name]
    if isinstance(value, bool):
        return KnobSpec("toggle")
    if isinstance(value, int):
        return KnobSpec("step", 1) if abs(value) <= 16 else KnobSpec("log", 1.5)
    if isinstance(value, float):
        return KnobSpec("log", 1.5)
    return KnobSpec("frozen")


def round_sig(x: float, digits: int = 3) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def _log_step(value: float, factor: float, direction: int, spec: KnobSpec) -> float:
    if value == 0:
        return ZERO_FLOOR if direction > 0 and spec.lo <= 0 else value
    new = value * factor ** direction
    if direction < 0 and spec.lo <= 0 and abs(new) < ZERO_FLOOR:
        return 0.0
    return new


def neighbour(name: str, value: Value, direction: int, strength: float = 1.0) -> Value | None:
    """The value one step from ``value`` (direction +1 or -1), with the step
    scaled by ``strength`` (bigger after a win, smaller after misses);
    None when the knob cannot move that way."""
    spec = spec_for(name, value)
    if spec.scale == "frozen":
        return None
    if spec.scale == "toggle":
        return (not value) if (direction > 0) != bool(value) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if spec.scale == "log":
        new = _log_step(float(value), spec.step ** strength, direction, spec)
    elif spec.scale == "one_minus":
        new = 1 - (1 - value) * spec.step ** (-direction * strength)
    else:
        new = value + direction * spec.step * strength
    new = min(max(new, spec.lo), spec.hi)
    if isinstance(value, int):
        unit = spec.multiple_of
        new = int(round(new / unit) * unit)
        if new == value:  # a small step rounded away: move by one unit instead
            new = value + direction * unit
        if not spec.lo <= new <= spec.hi:
            return None
    else:
        new = round_sig(new, 4 if spec.scale == "one_minus" else 3)
    return None if new == value else new


def valid(config: dict[str, Value]) -> bool:
    """Combinations the template cannot run (attention heads must split the
    width into an even head size; the schedule must fit in the budget)."""
    width, heads = config.get("WIDTH"), config.get("HEADS")
    if isinstance(width, int) and isinstance(heads, int):
        if heads <= 0 or width % heads or (width // heads) % 2:
            return False
    warmup, warmdown = config.get("WARMUP_FRAC", 0), config.get("WARMDOWN_FRAC", 0)
    if isinstance(warmup, (int, float)) and isinstance(warmdown, (int, float)):
        if warmup + warmdown > 1:
            return False
    return True
