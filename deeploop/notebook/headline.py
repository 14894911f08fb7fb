"""The headline figure of a session: one value a batch index shows per row.

A notebook records it with one call, anywhere after its parameters::

    from deeploop.notebook import record_headline
    record_headline(best_val_bpb, label="val_bpb")

The value travels as a display output with its own MIME type, so it lives in
the executed notebook itself: no side file, no need to know the run folder,
and it shows as ``val_bpb: 1.234`` in the notebook. The last one recorded
wins. A notebook that records none gets the ``final_score`` of an
``outcome.json`` in its run folder, if there is one.
"""
from __future__ import annotations

import math
from pathlib import Path

from ..runs import read_outcome

HEADLINE_MIME = "application/vnd.deeploop.headline+json"


def record_headline(value, label: str = "headline") -> None:
    """Publish ``value`` as this notebook's headline figure (call in a kernel).

    Returns None so that, as a cell's last line, it is not displayed twice.
    """
    from IPython.display import display
    payload = {"label": str(label), "value": _plain(value)}
    display({HEADLINE_MIME: payload, "text/plain": f"{label}: {payload['value']}"}, raw=True)


def read_headline(nb) -> dict | None:
    """The last headline an executed notebook recorded, or None."""
    found = None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if HEADLINE_MIME in data and isinstance(data[HEADLINE_MIME], dict):
                found = dict(data[HEADLINE_MIME])
    return found


def headline_from_run(run_dir: Path) -> dict | None:
    """Fallback: a run folder's outcome.json final_score."""
    outcome, _ = read_outcome(Path(run_dir))
    score = outcome.get("final_score") if outcome is not None else None
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        return {"label": "final_score", "value": score}
    return None


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _plain(value):
    """JSON-safe: numbers stay numbers (numpy ones too), anything else is text."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)
