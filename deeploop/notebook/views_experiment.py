"""Report cells for experiment runs (``runs/experiment/<tag>/``) and any
autoresearch-format results.tsv: the progress chart, counts, top hits, the
meta-analysis timeline, and time and cost.

Each public function takes the report's subject (``views.Subject``) and
returns something to display, a ``Note`` when the run has nothing for it,
or None when the subject is not an experiment (the cell shows nothing).
"""
from __future__ import annotations

from . import progress
from .charts import LABEL
from ..templating import fragment, pill, render, safe
from .viewkit import (BLUE, GREEN, GREY, RED, Html, Note, clock, figure, finish, fixed, section,
                      short, signed, table, text_table)

VERDICT_COLOURS = {"confirmed": "#166534", "refuted": "#b91c1c", "crashed": "#92400e",
                   "untested": "#6b7280", "pending": "#1d4ed8"}


def progress_chart(subject):
    """val_bpb per experiment: keeps green, discards grey, crashes marked,
    the running best as a step line, kept changes labelled."""
    if subject.kind != "experiment":
        return None
    results = subject.results
    if not results.rows:
        return Note("No experiments recorded yet: results.tsv has no rows.")
    fig, axes = figure(9.5, 4.2)
    draw_progress(axes[0][0], results, progress.meta_timeline(subject.events),
                  noise=noise_of(subject.events))
    best = results.best()
    return finish(fig, f"Progress: {len(results.rows)} rows, best val_bpb "
                       f"{fixed(best.val_bpb) if best else '–'}")


def noise_of(events) -> dict | None:
    """The noise measurement and each keep's margin in sigma (by commit), if measured."""
    estimate = next((e for e in reversed(events or []) if e.get("type") == "noise_estimated"),
                    None)
    if not estimate or not estimate.get("sigma"):
        return None
    margins = {str(e.get("commit") or "")[:7]: e["margin_sigma"] for e in events
               if e.get("type") == "experiment_result" and e.get("status") == "keep"
               and e.get("margin_sigma") is not None}
    return {"sigma": estimate["sigma"], "threshold": estimate.get("min_delta") or 0.0,
            "margins": margins}


def _draw_noise(ax, steps, noise) -> None:
    """The band a result must get below to be kept (the running best minus the
    keep threshold), and each keep's margin over the best before it, in sigma."""
    xs = [n for n, _ in steps]
    best = [b for _, b in steps]
    ax.fill_between(xs, [b - noise["threshold"] for b in best], best, step="post",
                    color=GREEN, alpha=0.12, lw=0,
                    label=f"noise band: keep threshold {noise['threshold']:.4f} "
                          f"(sigma {noise['sigma']:.4f})")


def draw_progress(ax, results, analyses=(), labels: int = 24, noise: dict | None = None) -> None:
    """Draw the progress chart on ``ax`` (shared by the report and the live monitor);
    ``noise`` (``noise_of``) adds the keep band and each keep's margin in sigma."""
    from matplotlib.ticker import MaxNLocator
    rows = [p for p in progress.points(results) if p.ok]
    scored = [p for p in rows if p.status != "crash" and p.val_bpb]
    low, high = _y_range(scored)
    for status, colour in (("discard", GREY), ("keep", GREEN)):
        shown = [p for p in scored if p.status == status]
        inside = [p for p in shown if p.val_bpb <= high]
        if inside:
            ax.scatter([p.n for p in inside], [p.val_bpb for p in inside], s=16, color=colour,
                       label=status, zorder=3, alpha=0.8 if status == "discard" else 1.0)
        above = [p.n for p in shown if p.val_bpb > high]  # off the scale: pinned to the top
        if above:
            ax.scatter(above, [high] * len(above), marker="^", s=18, color=colour, zorder=3,
                       clip_on=False, label=None if inside else f"{status} (off the scale)")
    crashes = [p.n for p in rows if p.status == "crash"]
    if crashes:  # crash rows record 0.000000: mark them along the bottom instead
        ax.scatter(crashes, [0.03] * len(crashes), marker="x", s=22, color=RED,
                   transform=ax.get_xaxis_transform(), label="crash", zorder=3)
    steps = progress.running_best(results)
    if steps:
        ax.step([n for n, _ in steps], [b for _, b in steps], where="post", color=GREEN,
                lw=1.4, alpha=0.7, label="running best")
        if noise:
            _draw_noise(ax, steps, noise)
    margins = (noise or {}).get("margins", {})
    for hit in progress.top_hits(results, labels):  # biggest gain first: it keeps its label
        margin = margins.get(str(hit.commit)[:7])
        text = short(hit.description, 36) + (f" (+{margin:.1f}σ)" if margin is not None else "")
        ax.annotate(text, (hit.n, hit.val_bpb), xytext=(4, 5),
                    textcoords="offset points", fontsize=7, rotation=25, gid=LABEL)
    for analysis in analyses:
        if analysis.experiments is not None:
            ax.axvline(analysis.experiments + 0.5, color=BLUE, ls="--", lw=0.8, alpha=0.6)
            ax.text(analysis.experiments + 0.5, 0.97, f" M{analysis.number}", color=BLUE,
                    fontsize=8, transform=ax.get_xaxis_transform(), va="top")
    if low is not None:
        ax.set_ylim(low, high)
    ax.set(xlabel="experiment (row of results.tsv)", ylabel="val_bpb (lower is better)",
           title="Progress")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)


def _y_range(scored) -> tuple[float | None, float | None]:
    """Frame the kept values and the near misses; far-off discards are pinned."""
    if not scored:
        return None, None
    values = [p.val_bpb for p in scored]
    kept = [p.val_bpb for p in scored if p.status == "keep"] or values
    low, top = min(values), max(kept)
    spread = max(top - low, 0.01 * top)
    high = min(max(values), top + 0.6 * spread)
    margin = 0.06 * max(high - low, spread)
    return low - margin, max(high, top) + margin


def counts(subject):
    """Experiments, keep/discard/crash, rejected proposals, baseline and best."""
    from ..experiment.status import summarize
    status = summarize(subject.results, subject.events, subject.name)
    best, baseline = status.best, status.baseline
    share = (100 * status.delta / baseline.val_bpb) if status.delta is not None else None
    rows = [("experiments (baseline not counted)", status.experiments),
            ("kept", status.kept), ("discarded", status.discarded), ("crashed", status.crashed)]
    if subject.record is not None:
        rows.insert(0, ("status", subject.record.status))
        rows.append(("rejected proposals (not trained)", status.rejected))
    noise = status.noise or {}
    rows.append(("noise (sigma) / keep threshold",
                 f"{fixed(noise['sigma'])} / {fixed(noise.get('min_delta') or 0)}"
                 if noise.get("sigma") else "not measured (--noise-runs 0): any gain was kept"))
    if status.sandbox:
        rows.append(("sandbox", "bwrap" if status.sandbox.get("kind") == "bwrap"
                     else f"none: {status.sandbox.get('reason')}"))
    if status.mismatches:
        rows.append(("printed val_bpb not the harness's", status.mismatches))
    rows += [("baseline val_bpb", fixed(baseline.val_bpb) if baseline else "–"),
             ("best val_bpb", f"{fixed(best.val_bpb)} ({best.commit}: {short(best.description)})"
              if best else "none yet"),
             ("change vs baseline", f"{signed(status.delta)} ({share:+.2f}%)"
              if share is not None else "–")]
    after = fragment("cells.html.j2", "paragraphs",
                     [f"Bad row, kept in the file and never counted: {p}" for p in status.problems])
    return section("Outcome", ("", ""), rows, after=after)


def top_hits(subject, limit: int = 10):
    """The kept changes that improved most on the best before them."""
    if subject.kind != "experiment":
        return None
    hits = progress.top_hits(subject.results, limit)
    if not hits:
        return Note("Top hits: no kept change has improved on the first kept result yet.")
    rows = [(i, h.n, h.commit, fixed(h.val_bpb), signed(-h.improvement),
             f"{-100 * h.share:+.2f}%", short(h.description, 120))  # free text can run long
            for i, h in enumerate(hits, 1)]
    return section("Top hits", ("#", "experiment", "commit", "val_bpb", "vs previous best", "%",
                                "change"), rows)


def experiment_table(subject):
    """Every experiment: status, val_bpb, Δ vs best, noise margin, description,
    hypothesis, steps, seconds; sortable by any column in report.html."""
    if subject.kind != "experiment":
        return None
    from .experiment_table import noise, rows
    table = rows(subject.results, subject.events)
    if not table:
        return Note("Every experiment: results.tsv has no rows yet.")
    sigma, runs = noise(subject.results, subject.events)
    header = ["#", "status", "val_bpb", "Δ vs best"] + (["margin"] if sigma else []) + \
        ["commit", "from", "description", "hypothesis", "steps", "seconds"]
    markup = render("experiments.html.j2", rows=table, header=header, sigma=sigma,
                    noise_runs=runs)
    text_rows = [(r.n, r.status, r.val_bpb, r.delta, r.commit, short(r.description, 60),
                  r.steps, r.seconds) for r in table]
    text = text_table(("#", "status", "val_bpb", "Δ", "commit", "description", "steps",
                       "seconds"), text_rows)
    return Html(markup, f"Every experiment ({len(table)})\n{text}")


def lineage(subject):
    """Which kept commit each experiment started from, what it tested, kept or not."""
    if subject.kind != "experiment":
        return None
    if subject.record is None:
        return Note("Lineage: a results.tsv alone does not record where each experiment "
                    "started (a run's events do).")
    from .experiment_table import lineage as tree, rows
    nodes = tree(rows(subject.results, subject.events))
    if not nodes:
        return Note("Lineage: no kept commit yet.")
    text = "\n".join(f"{n.commit} #{n.n} {n.val_bpb} {short(n.description, 50)}: "
                     f"{len(n.children)} tried, {n.kept} kept" for n in nodes)
    return Html(render("lineage.html.j2", nodes=nodes), "Lineage\n" + text)


def meta_timeline(subject):
    """Each meta-analysis: when, why, by whom, and its hypotheses' fate."""
    if subject.kind != "experiment":
        return None
    analyses = progress.meta_timeline(subject.events)
    if not analyses:
        what = "no meta_analysis events" if subject.record else "a results.tsv has no events"
        return Note(f"Meta-analysis timeline: none recorded ({what}).")
    parts, text = [], ["Meta-analysis timeline"]
    for a in analyses:
        head = _analysis_head(a)
        text.append(head)
        rows = [(h.rank, h.id, short(h.change, 120), short(h.expected, 80), h.confidence,
                 h.verdict, "–" if h.experiment is None else h.experiment, signed(h.delta))
                for h in a.hypotheses]
        parts.append((head, safe(_verdict_table(rows)) if rows else ""))
        text += [f"  {r[1]} {r[2]} -> {r[5]}" for r in rows]
    return Html(fragment("cells.html.j2", "meta_timeline", parts), "\n".join(text))


def _analysis_head(a) -> str:
    analyst = a.analyst + (f" (fell back: {a.fallback})" if a.fallback else "")
    after = f"after {a.experiments} experiments" if a.experiments is not None else "when ?"
    best = f", best {fixed(a.best_val_bpb)} ({a.best_commit})" if a.best_val_bpb else ""
    version = f", program v{a.program_version}" if a.program_version else ""
    return f"M{a.number}: {after}, trigger {a.trigger}, analyst {analyst}{best}{version}"


def _verdict_table(rows: list) -> str:
    header = ("rank", "id", "change", "expected", "confidence", "verdict", "experiment", "Δ")
    # the verdict cells as pills (readable on any theme)
    rows = [(*r[:5], safe(pill(r[5])) if r[5] in VERDICT_COLOURS else r[5], *r[6:]) for r in rows]
    return table(header, rows)


def time_and_cost(subject):
    """Where the time went (training, proposing, harness) and what models cost."""
    if subject.kind != "experiment":
        return None
    if subject.record is None:
        return Note("Time and cost: a results.tsv alone records neither (see a run's events).")
    spent = progress.spending(subject.events)
    if not spent.experiments:
        return Note("Time and cost: no experiment has finished yet.")
    rate = f"{spent.per_hour:.1f}" if spent.per_hour else "–"
    rows = [("results recorded (baselines included)", spent.experiments),
            ("time in experiments", clock(spent.total_s)),
            ("  training", clock(spent.training_s)),
            ("  proposing", clock(spent.propose_s)),
            ("  harness (commit, start-up, evaluation)", clock(spent.overhead_s)),
            ("first to last event (pauses included)", clock(spent.wall_s)),
            ("experiments per hour (baselines not counted)", rate),
            ("meta-analyses", spent.analyses),
            ("model calls", spent.calls),
            ("tokens in / out", f"{spent.input_tokens} / {spent.output_tokens}"),
            ("cost (USD)", f"{spent.usd:.4f}")]
    return section("Time and cost", ("", ""), rows)
