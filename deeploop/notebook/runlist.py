"""Runs as rich objects: a run or a list of runs as a compact table, and the
side-by-side comparison of two or more runs.

``RunRecord`` and ``list_runs()`` (``deeploop.runs``) display through here
(``runs_html``/``runs_text``, which importing ``deeploop.notebook`` installs
with ``show_runs_with``): HTML (status pill, score or best val_bpb, rounds,
start time, a link to report.html) with a plain-text table as the fallback. ``find_runs`` adds the
runs in batch folders (``<root>/batch/<name>/<node>/<id>``, a runs root of
their own). ``compare`` draws the runs' progress on one axis per measure
and lists the settings that differ.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..runs import RunRecord, list_runs, runs_root

SETTINGS_FILES = ("experiment.json", "research.json", "session.json")


@dataclass
class RunRow:
    run_id: str
    node: str
    kind: str
    status: str
    score: str
    score_name: str
    value: float | None
    rounds: int
    started: str
    report: str
    batch: str
    path: Path


def kind_of(record: RunRecord) -> str:
    from .views import KINDS
    return next((name for name, test in KINDS if test(record)), "node")


def row(record: RunRecord, batch: str = "") -> RunRow:
    kind = kind_of(record)
    outcome = record.outcome or {}
    if kind == "experiment":
        value, name = outcome.get("best_val_bpb"), "best val_bpb"
        if value is None:
            value = _best_from_results(record.path)
    else:
        value, name = record.final_score, "final score"
    value = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    score = "–" if value is None else (f"{value:.6f}" if kind == "experiment" else f"{value:g}")
    page = record.path / "report.html"
    return RunRow(record.run_id, record.node, kind, record.status, score, name, value,
                  record.rounds, record.started or "?",
                  page.resolve().as_uri() if page.is_file() else "", batch, record.path)


def _best_from_results(path: Path) -> float | None:
    from ..experiment.results import read_results
    try:
        best = read_results(path / "results.tsv").best()
    except Exception:  # a listing never fails on one bad file
        return None
    return best.val_bpb if best else None


def batch_roots(root: Path) -> list[tuple[str, Path]]:
    """(batch name, folder) for each batch folder under the runs root."""
    folder = root / "batch"
    return [(p.name, p) for p in sorted(folder.iterdir()) if p.is_dir()] if folder.is_dir() else []


def find_runs(root: Path | str | None = None, node: str | None = None,
              batches: bool = True) -> list[tuple[RunRecord, str]]:
    """(record, batch name or "") for every run under the root and, with
    ``batches``, in its batch folders; oldest first."""
    root = Path(root) if root else runs_root()
    found = [(r, "") for r in list_runs(node, root) if r.node != "batch"]
    if batches:
        for name, folder in batch_roots(root):
            found += [(r, name) for r in list_runs(node, folder)]
    return sorted(found, key=lambda pair: (pair[0].started or "", pair[0].run_id))


def html_table(rows: list[RunRow]) -> str:
    from ..templating import render
    return render("runs.html.j2", rows=rows)


def text_table(rows: list[RunRow]) -> str:
    from .viewkit import text_table as table
    return table(("run", "kind", "status", "score", "rounds", "started", "report"),
                 [(r.run_id + (f" (batch {r.batch})" if r.batch else ""), r.kind, r.status,
                   r.score, r.rounds, r.started, "report.html" if r.report else "–")
                  for r in rows])


def runs_html(records: list[RunRecord]) -> str:
    return html_table([row(r) for r in records])


def runs_text(records: list[RunRecord]) -> str:
    return text_table([row(r) for r in records]) or "(no runs)"


SORTS = {
    "newest first": (lambda r: r.started, True),
    "oldest first": (lambda r: r.started, False),
    "best score first": (lambda r: (r.value is None, -(r.value or 0) if r.kind != "experiment"
                                    else (r.value or 0)), False),
    "most rounds first": (lambda r: r.rounds, True),
    "status": (lambda r: (r.status, r.started), False),
}


def select(rows: list[RunRow], text: str = "", kind: str = "", status: str = "",
           sort: str = "newest first") -> list[RunRow]:
    """Filter (words in run id, node or batch; kind; status) and sort."""
    words = text.lower().split()
    kept = [r for r in rows
            if all(w in f"{r.run_id} {r.node} {r.batch}".lower() for w in words)
            and (not kind or r.kind == kind) and (not status or r.status == status)]
    key, reverse = SORTS.get(sort, SORTS["newest first"])
    return sorted(kept, key=key, reverse=reverse)


# -- comparing runs ------------------------------------------------------------------


def settings_of(record: RunRecord) -> dict:
    """What a run was asked to do: its settings record, else its run_started event."""
    for name in SETTINGS_FILES:
        path = record.path / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not isinstance(v, (dict, list))}
    started = record.journal.last("run_started") or {}
    return {k: v for k, v in started.items()
            if k not in ("ts", "type", "run_id", "node", "round", "started")
            and not isinstance(v, (dict, list))}


def settings_diff(records: list[RunRecord]) -> tuple[list[str], list[list[str]]]:
    """(keys that differ, one row per key: the value in each run)."""
    values = [settings_of(r) for r in records]
    keys = sorted({k for v in values for k in v})
    differ = [k for k in keys if len({json.dumps(v.get(k), sort_keys=True) for v in values}) > 1]
    return differ, [[k] + ["–" if v.get(k) is None else str(v.get(k)) for v in values]
                    for k in differ]


def series(record: RunRecord) -> tuple[str, list[tuple[int, float]]]:
    """(measure, points) of a run's progress: running best val_bpb per
    experiment, judge score per round, or deepest claim per round."""
    kind = kind_of(record)
    if kind == "experiment":
        from ..experiment.results import read_results
        from .progress import running_best
        return "best val_bpb", running_best(read_results(record.path / "results.tsv"))
    if kind == "drill":
        from .views_drill import depth_by_round
        return "deepest claim", [(n, d) for n, d, _ in depth_by_round(record.journal.events)
                                 if d is not None]
    if kind == "research":
        results = record.journal.of_type("research_result")
        return "entries", [(e.get("round") or i, i) for i, e in enumerate(results, 1)]
    from .views_node import last_score_per_round
    return "judge score", sorted(last_score_per_round(record).items())


def compare(records: list[RunRecord]):
    """Two or more runs side by side: progress on one axis per measure, and the
    settings that differ. Returns an Html (with a text fallback)."""
    from ..errors import InputError
    from .charts import to_svg
    from ..templating import fragment, safe
    from .viewkit import Html, figure, table
    from .viewkit import text_table as plain
    if len(records) < 2:
        raise InputError("compare needs two or more runs")
    measures: dict[str, list[tuple[str, list]]] = {}
    for record in records:
        measure, points = series(record)
        measures.setdefault(measure, []).append((record.run_id, points))
    fig, axes = figure(9, 3.2 * len(measures), rows=len(measures))
    from matplotlib.ticker import MaxNLocator
    for (measure, runs), ax_row in zip(measures.items(), axes):
        ax = ax_row[0]
        for run_id, points in runs:
            if points:
                ax.step([n for n, _ in points], [v for _, v in points], where="post",
                        marker="o", ms=3, label=run_id[-40:])
        ax.set(xlabel="experiment" if measure == "best val_bpb" else "round", ylabel=measure)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    chart = to_svg(fig, "Progress of " + ", ".join(r.run_id for r in records))
    rows = [row(r) for r in records]
    keys, diff = settings_diff(records)
    header = ["setting"] + [r.run_id for r in records]
    differ = safe(table(header, diff)) if keys else ""
    markup = fragment("cells.html.j2", "comparison", len(records), safe(html_table(rows)),
                      safe(chart), differ)
    text = (f"Comparing {len(records)} runs\n{text_table(rows)}\n\nSettings that differ\n"
            + (plain(header, diff) if keys else "(none)"))
    return Html(markup, text)

