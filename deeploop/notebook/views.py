"""What the report template shows, as calls that return displayable objects.

The template stays thin (DESIGN: no logic only in a notebook): each cell is
one call here, and the cell's value is what the report shows. Two sources
for now: a run folder (outcome, score per round, violations) and an
autoresearch-format ``results.tsv`` (val_bpb per experiment, keep/discard/
crash counts). Later run kinds (drill trees, experiment meta-analyses) add
their views here and their cells to the template.
"""
from __future__ import annotations

import csv
import html
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..runs import RunRecord, load_run


@dataclass
class Results:
    """An autoresearch results.tsv, read by header names (extra columns allowed)."""

    path: Path
    rows: list[dict]

    @property
    def name(self) -> str:
        return self.path.name


def load(run_dir: str = "", results: str = ""):
    """The report's subject: a RunRecord for a run folder, Results for a TSV."""
    if bool(run_dir) == bool(results):
        raise InputError("give exactly one of run_dir (a run folder) or results (a results.tsv)")
    return load_run(run_dir) if run_dir else read_results(Path(results))


def read_results(path: Path) -> Results:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if "val_bpb" not in (reader.fieldnames or []):
            raise InputError(f"not an autoresearch results file (no val_bpb column): {path}")
        return Results(path, [row for row in reader if any(v for v in row.values())])


def title(source):
    """A heading naming what the report is about."""
    if isinstance(source, RunRecord):
        text = f"<h1>Run {_e(source.run_id)}</h1><p>node <code>{_e(source.node)}</code> &middot; " \
               f"started {_e(source.started or '?')} &middot; folder <code>{_e(source.path)}</code></p>"
    else:
        text = f"<h1>Experiments: {_e(source.name)}</h1><p>{len(source.rows)} rows from " \
               f"<code>{_e(source.path)}</code></p>"
    return _html(text)


def outcome_table(source):
    """Status, rounds, final score and exit reason; or keep/discard/crash counts."""
    if isinstance(source, RunRecord):
        outcome = source.outcome or {}
        rows = [("status", source.status), ("rounds", source.rounds),
                ("final score", _num(source.final_score)),
                ("exit reason", outcome.get("exit_reason", "(no outcome.json: still running "
                                                           "or killed)"))]
        problems = "".join(f"<li>{_e(p)}</li>" for p in source.problems)
        extra = f"<p>Skipped while reading:</p><ul>{problems}</ul>" if problems else ""
        return _html("<h2>Outcome</h2>" + _table(("", ""), rows) + extra)
    counts = Counter((row.get("status") or "?").strip() for row in source.rows)
    best = min((v for v in (_float(r.get("val_bpb")) for r in source.rows
                            if (r.get("status") or "").strip() == "keep") if v), default=None)
    rows = [(k, counts[k]) for k in ("keep", "discard", "crash") if counts[k]]
    rows += [(k, n) for k, n in counts.items() if k not in ("keep", "discard", "crash")]
    rows.append(("best kept val_bpb", _num(best)))
    return _html("<h2>Outcome</h2>" + _table(("", ""), rows))


def score_chart(source):
    """Judge score per round (runs) or val_bpb per experiment (results)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if isinstance(source, RunRecord):
        rounds = scores_by_round(source)
        ax.plot(list(rounds), list(rounds.values()), marker="o", color="#1f77b4")
        ax.set(xlabel="round", ylabel="judge score", ylim=(-0.05, 1.05),
               title="Score per round")
        ax.set_xticks(list(rounds) or [1])
    else:
        _results_chart(ax, source)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)  # shown once, as this cell's value, not again by the inline backend
    return fig


def violations_table(source):
    """How often each rule was broken, and in which rounds."""
    if not isinstance(source, RunRecord):
        return _html("<h2>Violations</h2><p>Experiment results carry no judge violations.</p>")
    totals = (source.outcome or {}).get("violations_total") or violation_counts(source)
    by_key: dict[str, list[int]] = {}
    for event in source.journal.of_type("judge_result"):
        for key in event.get("violations") or []:
            by_key.setdefault(str(key), []).append(event.get("round"))
    if not totals:
        return _html("<h2>Violations</h2><p>None: every judged round followed every rule.</p>")
    rows = [(key, count, ", ".join(str(r) for r in by_key.get(key, []) if r is not None))
            for key, count in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]
    return _html("<h2>Violations</h2>" + _table(("rule", "count", "rounds"), rows))


def scores_by_round(run: RunRecord) -> dict[int, float]:
    """The last judge score of each round (events without a round are skipped)."""
    scores = {}
    for event in run.journal.of_type("judge_result"):
        if isinstance(event.get("round"), int) and isinstance(event.get("score"), (int, float)):
            scores[event["round"]] = float(event["score"])
    return dict(sorted(scores.items()))


def violation_counts(run: RunRecord) -> dict[str, int]:
    counts = Counter()
    for event in run.journal.of_type("judge_result"):
        counts.update(str(k) for k in event.get("violations") or [])
    return dict(counts)


def _results_chart(ax, source: Results) -> None:
    from matplotlib.ticker import MaxNLocator
    colours = {"keep": "#2ca02c", "discard": "#aaaaaa"}
    for status, colour in colours.items():
        points = [(i, _float(r.get("val_bpb"))) for i, r in enumerate(source.rows, start=1)
                  if (r.get("status") or "").strip() == status]
        points = [(i, v) for i, v in points if v is not None]
        if points:
            ax.scatter(*zip(*points), color=colour, label=status, s=18)
    crashes = [i for i, r in enumerate(source.rows, start=1)
               if (r.get("status") or "").strip() == "crash"]
    for n, i in enumerate(crashes):  # crashes record val_bpb 0.000000: mark, don't plot
        ax.axvline(i, color="#d62728", alpha=0.35, lw=1, label="crash" if n == 0 else None)
    ax.set(xlabel="experiment", ylabel="val_bpb (lower is better)", title="val_bpb per experiment")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if ax.get_legend_handles_labels()[0]:
        ax.legend()


def _table(header: tuple, rows: list[tuple]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header) if any(header) else ""
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{'<tr>' + head + '</tr>' if head else ''}{body}</table>"


def _html(text: str):
    from IPython.display import HTML
    return HTML(text)


def _e(value) -> str:
    return html.escape(str(value))


def _num(value) -> str:
    return "–" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def _float(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
