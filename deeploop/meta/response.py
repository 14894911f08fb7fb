"""Response curves: how val_bpb moves along one knob, all else as it is now.

The one-step proposer only ever compares a move with the best before it.
With the history replayed as configurations, the analysis can do better:
every measurement whose configuration equals the current best except for
one knob is a point on that knob's response curve. A parabola through
three or more such points (on the knob's own scale: log for rates, log of
1 - x for momenta) says where the curve bottoms out; when that is inside or
near the measured range, jumping there is worth one experiment.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..experiment.knobs import Value
from ..experiment.proposers.space import round_sig, spec_for
from .stats import Record

MIN_POINTS = 3


def configs(records: list[Record], current: dict[str, Value]) -> tuple[dict | None, list]:
    """The configuration each record measured, rebuilt backwards from the
    current knobs: a keep measured the base that followed it, and its moves
    undone give the base before it; a discard measured that base plus its
    moves. None where it cannot be known (a keep whose old values prose did
    not give, or a change outside the knobs, hides everything before it).
    Returns (the baseline's configuration, one per record)."""
    found: list[dict | None] = [None] * len(records)
    base: dict | None = dict(current)
    for i in range(len(records) - 1, -1, -1):
        record = records[i]
        if base is None:
            break
        if record.row.counts:
            found[i] = base
            undone = record.moves and all(m.old is not None for m in record.moves)
            base = {**base, **{m.knob: m.old for m in record.moves}} if undone else None
        elif record.moves and all(m.new is not None for m in record.moves):
            found[i] = {**base, **{m.knob: m.new for m in record.moves}}
    return base, found


def _scale(knob: str, value: Value):
    """(to the fit's axis, back to a value) for a numeric knob, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    spec = spec_for(knob, value)
    if spec.scale == "log":
        return (lambda v: math.log(v) if v > 0 else None), math.exp
    if spec.scale == "one_minus":
        return (lambda v: math.log(1 - v) if v < 1 else None), (lambda x: 1 - math.exp(x))
    if spec.scale in ("step", "linear"):
        return (lambda v: float(v)), (lambda x: x)
    return None


@dataclass
class Curve:
    knob: str
    points: list[tuple[Value, float]]     # (value, val_bpb), the current best included
    best_value: Value                      # where the parabola bottoms out
    predicted: float                       # its val_bpb there
    inside: bool                           # within the measured range (interpolated)


def _parabola(points: list[tuple[float, float]]):
    """Least-squares y = a x^2 + b x + c (None when degenerate)."""
    n = len(points)
    sx = [sum(x ** k for x, _ in points) for k in range(5)]
    sy = [sum(y * x ** k for x, y in points) for k in range(3)]
    m = [[sx[4], sx[3], sx[2], sy[2]], [sx[3], sx[2], sx[1], sy[1]], [sx[2], sx[1], n, sy[0]]]
    for col in range(3):  # Gaussian elimination with partial pivoting
        pivot = max(range(col, 3), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(3):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col])]
    return tuple(m[r][3] / m[r][r] for r in range(3))


def curves(records: list[Record], current: dict[str, Value], best: float,
           baseline: float | None = None) -> list[Curve]:
    """A fitted curve for every knob with enough comparable measurements
    (the baseline's included when its configuration is known)."""
    start, measured = configs(records, current)
    pairs = [(c, r.row.val_bpb) for r, c in zip(records, measured) if c and r.scored]
    if start is not None and baseline:
        pairs.append((start, baseline))
    points: dict[str, dict[Value, list[float]]] = {}
    for config, value in pairs:
        differ = [k for k in config if config[k] != current.get(k)]
        if len(differ) == 1 and differ[0] in current:
            points.setdefault(differ[0], {}).setdefault(config[differ[0]], []).append(value)
    found = []
    for knob, measured in points.items():
        curve = _fit(knob, current[knob], best, measured)
        if curve is not None:
            found.append(curve)
    return found


def _fit(knob: str, value: Value, best: float, measured: dict) -> Curve | None:
    scale = _scale(knob, value)
    if scale is None or len(measured) + 1 < MIN_POINTS:
        return None
    to_axis, from_axis = scale
    raw = [(v, sum(ys) / len(ys)) for v, ys in measured.items()] + [(value, best)]
    pts = [(to_axis(v), y) for v, y in raw if to_axis(v) is not None]
    coef = _parabola(pts) if len(pts) >= MIN_POINTS else None
    if coef is None or coef[0] <= 0:
        return None  # no bottom to aim at (flat or bending down)
    a, b, c = coef
    lo, hi = min(x for x, _ in pts), max(x for x, _ in pts)
    x = min(max(-b / (2 * a), lo - (hi - lo) / 2), hi + (hi - lo) / 2)  # no far extrapolation
    new = from_axis(x)
    new = int(round(new)) if isinstance(value, int) else round_sig(new, 3)
    return Curve(knob, sorted(raw), new, a * x * x + b * x + c, lo <= x <= hi)
