"""Report cells for node-loop runs: score per round and per run, violations
over runs, and lessons in the order they were promoted.

"The node's runs" are the run folders beside this one (its parent folder is
``<runs root>/<node>/``) recorded for the same node, oldest first by the
start time each run records; a window of them around this run is shown, so
a report stays quick on a runs root with thousands of runs.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..runs import RunRecord, is_run_dir, load_run, start_time
from ..summary import scores_by_round, violation_counts
from ..templating import fragment, safe
from .viewkit import BLUE, GREEN, GREY, RED, Html, Note, finish, figure, section, short

RADIUS = 25  # runs shown on each side of this one


@dataclass
class NodeRuns:
    """This run among its node's runs: ``runs`` oldest first, ``index`` is this one."""

    runs: list[RunRecord]
    index: int

    @property
    def this(self) -> RunRecord:
        return self.runs[self.index]


def node_runs(record: RunRecord, radius: int = RADIUS) -> NodeRuns:
    """The window of runs around ``record``; cheap ordering first, full loads after."""
    folder = record.path.parent
    paths = sorted((p for p in folder.iterdir() if is_run_dir(p)),
                   key=lambda p: (start_time(p), p.name))
    mine = next(i for i, p in enumerate(paths) if p.resolve() == record.path.resolve())
    window = paths[max(0, mine - radius):mine + radius + 1]
    runs = [record if p.resolve() == record.path.resolve() else load_run(p) for p in window]
    runs = [r for r in runs if r is record or r.node == record.node]
    return NodeRuns(runs, runs.index(record))


def last_score_per_round(record: RunRecord) -> dict[int, float]:
    """The last judge score of each numbered round (a judge may write twice)."""
    return {r: float(s) for r, s in scores_by_round(record)
            if isinstance(r, int) and isinstance(s, (int, float))}


def promotions(runs: list[RunRecord]) -> list[tuple[int, dict]]:
    """(index of the run it was recorded in, lesson_promoted event), in order."""
    return [(i, e) for i, r in enumerate(runs) for e in r.journal.of_type("lesson_promoted")]


def scores(subject):
    """Score per round of this run, and final score per run of its node."""
    if subject.kind != "node":
        return None
    record = subject.record
    around = node_runs(record)
    fig, axes = figure(10, 3.6, cols=2)
    _rounds_chart(axes[0][0], record)
    _runs_chart(axes[0][1], around)
    return finish(fig)


def _rounds_chart(ax, record: RunRecord) -> None:
    from matplotlib.ticker import MaxNLocator
    rounds = last_score_per_round(record)
    ax.plot(list(rounds), list(rounds.values()), marker="o", color=BLUE)
    ax.set(xlabel="round", ylabel="judge score", ylim=(-0.05, 1.05),
           title=f"Score per round ({short(record.run_id, 40)})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
    ax.grid(alpha=0.3)
    if not rounds:
        ax.text(0.5, 0.5, "no judge results", ha="center", transform=ax.transAxes, color=GREY)


def _runs_chart(ax, around: NodeRuns) -> None:
    from matplotlib.ticker import MaxNLocator
    xs = list(range(1, len(around.runs) + 1))
    finals = [r.final_score if isinstance(r.final_score, (int, float)) else None
              for r in around.runs]
    ax.plot([x for x, s in zip(xs, finals) if s is not None],
            [s for s in finals if s is not None], marker="o", color=GREEN, zorder=2)
    mine = finals[around.index]
    if mine is not None:
        ax.scatter([around.index + 1], [mine], s=120, facecolors="none", edgecolors=RED,
                   zorder=3, label="this run")
        ax.legend(loc="lower right", fontsize=8)
    # one numbered label per gap between runs (L1, L2–3: the lessons table's numbers),
    # never one label per lesson: several promoted after the same run overlapped
    after: dict[int, list[int]] = {}
    for n, (i, _) in enumerate(promotions(around.runs), 1):
        after.setdefault(i, []).append(n)
    for i, numbers in after.items():  # promoted after run i: before run i + 1
        label = f"L{numbers[0]}" + (f"–{numbers[-1]}" if len(numbers) > 1 else "")
        ax.axvline(i + 1.5, color=BLUE, ls=":", lw=0.8)
        ax.text(i + 1.5, 1.0, label, fontsize=7, color=BLUE, ha="center", va="bottom",
                transform=ax.get_xaxis_transform())
    ax.set(xlabel=f"run of {around.this.node} (oldest first)", ylabel="final score",
           ylim=(-0.05, 1.05))
    ax.set_title("Final score per run; lessons promoted (L#)", pad=12)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
    ax.grid(alpha=0.3)


def violations_over_runs(subject):
    """How often each rule was broken in each run: do lessons stick?"""
    if subject.kind != "node":
        return None
    around = node_runs(subject.record)
    per_run = [violation_counts(r) for r in around.runs]
    keys = sorted({k for counts in per_run for k in counts})
    if not keys:
        return Note(f"Violations over runs: none in the {len(around.runs)} runs shown.")
    from matplotlib.ticker import MaxNLocator
    fig, axes = figure(10, 3.4)
    ax = axes[0][0]
    xs = list(range(1, len(around.runs) + 1))
    bottom = [0] * len(xs)
    for key in keys:
        heights = [counts.get(key, 0) for counts in per_run]
        ax.bar(xs, heights, bottom=bottom, label=key, width=0.7)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.axvline(around.index + 1, color=RED, lw=1, alpha=0.5)
    ax.set(xlabel="run (oldest first; red line: this run)", ylabel="violations",
           title="Violations over runs")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts are whole numbers
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    ax.grid(alpha=0.3, axis="y")
    return finish(fig)


def lessons(subject):
    """Lessons in force when this run started, and lessons in promotion order."""
    if subject.kind != "node":
        return None
    record = subject.record
    around = node_runs(record)
    started = record.journal.last("run_started")
    in_force = started.get("lessons") if started else None
    before = fragment("cells.html.j2", "lessons_in_force", in_force) \
        if isinstance(in_force, list) else ""
    promoted = promotions(around.runs)
    if not promoted:
        text = f"Lessons: none promoted in the {len(around.runs)} runs of {record.node} shown."
        return Html(fragment("cells.html.j2", "lessons_none", safe(before), text), text) \
            if before else Note(text)
    rows = [(n, e.get("key"), around.runs[i].run_id, f"{e.get('count')} of last {e.get('window')}",
             e.get("ts", "")) for n, (i, e) in enumerate(promoted, 1)]
    return section("Lessons, in the order they were promoted",
                   ("#", "lesson", "promoted after run", "seen in", "when"), rows, before=before)
