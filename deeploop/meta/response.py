"""Response curves: how val_bpb moves along each knob, from all the history.

The one-step proposer only ever compares a move with the best before it.
With the history replayed as configurations, the analysis can do better: a
quadratic model over every measurement (on each knob's own scale: log for
rates, log of 1 - x for momenta) says where each knob's curve bottoms out,
all else as it is now; when that is inside or near the measured range,
jumping there is worth one experiment.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..experiment.knobs import Value
from ..experiment.proposers.space import round_sig, spec_for
from .stats import Record

MIN_POINTS = 3     # distinct values along a knob before its curvature is trusted
RIDGE = 0.01       # keeps the least squares solvable when knobs moved together


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


def numeric(value) -> float | None:
    """A finite number, else None: words (``gelu``), units (``10%``, ``2x``),
    toggles and infinities are measured but never fitted."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _axis(knob: str, value: Value):
    """(to the model's axis, back to a value, one step on that axis) for a
    numeric knob, else None: rates on a log scale, momenta as log(1 - x).
    The first maps any value that is not a number on that scale to None."""
    if numeric(value) is None:
        return None
    spec = spec_for(knob, value)
    if spec.scale == "log" and value > 0:
        return ((lambda v: math.log(x) if (x := numeric(v)) is not None and x > 0 else None),
                math.exp, math.log(spec.step))
    if spec.scale == "one_minus" and value < 1:
        return ((lambda v: math.log(1 - x) if (x := numeric(v)) is not None and x < 1 else None),
                (lambda x: 1 - math.exp(x)), math.log(spec.step))
    if spec.scale in ("step", "linear"):
        return numeric, (lambda x: x), float(spec.step)
    return None


@dataclass
class Curve:
    knob: str
    points: list[tuple[Value, float]]     # (value, mean val_bpb measured there)
    best_value: Value                      # where the model's curve bottoms out
    predicted: float                       # the val_bpb it predicts there
    inside: bool                           # within the measured range (interpolated)


def solve(matrix: list[list[float]], rhs: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting (None when singular)."""
    n = len(rhs)
    m = [row[:] + [value] for row, value in zip(matrix, rhs)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col and m[r][col]:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col])]
    return [m[r][n] / m[r][r] for r in range(n)]


def _measurements(records, current, baseline) -> list[tuple[dict, float]]:
    start, measured = configs(records, current)
    pairs = [(c, r.row.val_bpb) for r, c in zip(records, measured) if c and r.scored]
    if start is not None and baseline:
        pairs.append((start, baseline))
    return pairs


def curves(records: list[Record], current: dict[str, Value], best: float,
           baseline: float | None = None) -> list[Curve]:
    """One curve per knob measured at three or more values, from a separable
    quadratic model fitted (ridge least squares) to every measurement whose
    configuration is known: val_bpb = c + sum of b*u + a*u^2 over the knobs,
    u being the distance from the current value in steps. Knobs measured at
    two values enter linearly, so their effect is not blamed on the others."""
    axes = {k: a for k, v in current.items() if (a := _axis(k, v)) is not None}
    rows = []
    for config, value in _measurements(records, current, baseline):
        u = {k: (to(config[k]) - to(current[k])) / unit for k, (to, _, unit) in axes.items()
             if config.get(k) is not None and to(config[k]) is not None}
        rows.append((u, value, config))
    distinct = {k: {round(u.get(k, 0.0), 9) for u, _, _ in rows} for k in axes}
    linear = [k for k in axes if len(distinct[k]) >= 2]
    quad = [k for k in linear if len(distinct[k]) >= MIN_POINTS]
    if not quad or len(rows) < MIN_POINTS + 1:
        return []
    x = [[1.0] + [u.get(k, 0.0) for k in linear] + [u.get(k, 0.0) ** 2 for k in quad]
         for u, _, _ in rows]
    y = [value for _, value, _ in rows]
    size = len(x[0])
    normal = [[sum(r[i] * r[j] for r in x) + (RIDGE if i == j and i else 0.0)
               for j in range(size)] for i in range(size)]
    beta = solve(normal, [sum(r[i] * v for r, v in zip(x, y)) for i in range(size)])
    if beta is None:
        return []
    found = []
    for k in quad:
        b, a = beta[1 + linear.index(k)], beta[1 + len(linear) + quad.index(k)]
        curve = _bottom(k, current[k], axes[k], a, b, best, rows)
        if curve is not None:
            found.append(curve)
    return found


def _bottom(knob, value, axis, a, b, best, rows) -> Curve | None:
    if a <= 0:
        return None  # no bottom to aim at (flat or bending down)
    to, back, unit = axis
    along = [u.get(knob, 0.0) for u, _, _ in rows]
    lo, hi = min(along), max(along)
    u = min(max(-b / (2 * a), lo - 1), hi + 1)  # at most one step past what was measured
    delta = b * u + a * u * u
    if delta >= 0:
        return None
    try:
        new = back(to(value) + u * unit)
        new = int(round(new)) if isinstance(value, int) else round_sig(new, 3)
    except (OverflowError, ValueError):
        return None  # the bottom is off any scale a knob can take
    seen: dict[Value, list[float]] = {}
    for _, measured, config in rows:
        if numeric(config.get(knob)) is not None:  # words were measured, not fitted
            seen.setdefault(config[knob], []).append(measured)
    points = sorted((v, sum(ys) / len(ys)) for v, ys in seen.items())
    return Curve(knob, points, new, best + delta, lo <= u <= hi)
