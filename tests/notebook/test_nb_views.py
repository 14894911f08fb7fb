"""Report cells called directly (no kernel): each kind gets its sections, the
others show nothing; the project's fixture runs, the reference's recordings (when
present) and hand-made runs all work."""
from __future__ import annotations

import json
import shutil

import matplotlib
import pytest
from tests.helpers import (OWN_DRILLS, OWN_RESULTS, OWN_WIDE_RESULTS, RECORDED_DRILLS,
                           RECORDED_NODE_RUNS, RECORDED_RESULTS, recordings)
from tests.notebook.nbhelpers import NODE_RUNS

from deeploop.errors import InputError
from deeploop.notebook import views
from deeploop.notebook.views_drill import depth_by_round
from deeploop.notebook.views_node import node_runs

matplotlib.use("Agg")
EXPERIMENT_CELLS = [views.progress_chart, views.top_hits, views.meta_timeline,
                    views.time_and_cost]
NODE_CELLS = [views.node_scores, views.violations_over_runs, views.lessons]
DRILL_CELLS = [views.drill_tree, views.drill_depth, views.bedrock]


def html(shown) -> str:
    return shown._repr_html_()


@pytest.mark.parametrize("where, kind", [
    (NODE_RUNS[0], "node"), (OWN_DRILLS / "legacy-chain", "drill"),
    (OWN_DRILLS / "legacy-capped", "drill"), (OWN_DRILLS / "legacy-open", "drill"),
    pytest.param(RECORDED_NODE_RUNS / "commit-msg-20260522T061505Z-meta1", "node",
                 marks=recordings),
    pytest.param(RECORDED_DRILLS / "smoke-chain", "drill", marks=recordings),
    pytest.param(RECORDED_DRILLS / "harness-smoke", "drill", marks=recordings)])
def test_kind_decides_which_cells_show(where, kind):
    subject = views.load(run_dir=str(where))
    assert subject.kind == kind
    mine = {"node": NODE_CELLS, "drill": DRILL_CELLS}[kind]
    others = [c for c in EXPERIMENT_CELLS + NODE_CELLS + DRILL_CELLS if c not in mine]
    assert all(cell(subject) is None for cell in others)
    assert all(cell(subject) is not None for cell in mine)


@pytest.mark.parametrize("results, rows, order, labels", [
    (OWN_RESULTS, 7, ["LR 0.003 -&gt; 0.006", "DEPTH 4 -&gt; 6", "WIDTH 128 -&gt; 160"],
     ["LR 0.003 -> 0.006", "DEPTH 4 -> 6", "WIDTH 128 -> 160"]),
    (OWN_WIDE_RESULTS, 6, ["warm-up 100 -&gt; 250 steps", "gradient clipping at 1.0"],
     ["warm-up 100 -> 250 steps; the loss …", "gradient clipping at 1.0, then LR 3…"]),
    pytest.param(RECORDED_RESULTS, 5, ["reduce depth from 8 to 4", "halve total batch size"],
                 ["halve total batch size to 2^16", "increase matrix LR to 0.04",
                  "reduce depth from 8 to 4"], marks=recordings)])
def test_results_file_subject(results, rows, order, labels):
    subject = views.load(results=str(results))
    assert subject.kind == "experiment" and subject.record is None
    assert len(subject.results.rows) == rows
    assert views.violations_table(subject) is None and views.drill_tree(subject) is None
    assert "a results.tsv alone records neither" in repr(views.time_and_cost(subject))
    hits = html(views.top_hits(subject))  # the biggest gain over the previous best first
    assert [hits.index(hit) for hit in order] == sorted(hits.index(hit) for hit in order)
    fig = views.progress_chart(subject)  # keeps labelled, long ones cut short
    shown_labels = [t for t in fig.axes[0].texts if t.get_gid() == "deeploop-label"]
    assert sorted(t.get_text() for t in shown_labels) == sorted(labels)
    shown = [t.get_window_extent() for t in shown_labels if t.get_visible()]
    assert shown and not any(a.overlaps(b) for i, a in enumerate(shown) for b in shown[i + 1:])
    assert fig.svg.startswith("<svg") and "currentColor" in fig.svg and repr(fig).startswith(
        f"Progress: {rows} rows")


@pytest.mark.parametrize("run_dir, results, message", [
    ("", "", "give exactly one of"), ("x", "y", "give exactly one of"),
    ("", "/no/such.tsv", "results file not found")])
def test_bad_subjects(run_dir, results, message):
    with pytest.raises(InputError, match=message):
        views.load(run_dir=run_dir, results=results)


def test_results_without_a_status_column(tmp_path):
    bad = tmp_path / "r.tsv"
    bad.write_text("commit\tval_bpb\nabc\t1.0\n")
    with pytest.raises(InputError, match="has no status column"):
        views.load(results=str(bad))


def test_empty_results_say_so(tmp_path):
    empty = tmp_path / "r.tsv"
    empty.write_text("commit\tval_bpb\tmemory_gb\tstatus\tdescription\n")
    subject = views.load(results=str(empty))
    assert "no rows" in repr(views.progress_chart(subject))
    assert "no kept change" in repr(views.top_hits(subject))
    assert "none yet" in html(views.outcome_table(subject))


def test_node_runs_window_is_ordered_by_start():
    around = node_runs(views.load(run_dir=str(NODE_RUNS[2])).record)
    assert [r.run_id for r in around.runs] == [run.name for run in NODE_RUNS]  # not sorted
    assert around.index == 2
    assert len(node_runs(views.load(run_dir=str(NODE_RUNS[2])).record, radius=1).runs) == 3


@recordings
def test_recorded_node_runs_window_is_ordered_by_start():
    this = RECORDED_NODE_RUNS / "commit-msg-20260522T061507Z-meta3"
    around = node_runs(views.load(run_dir=str(this)).record)
    assert [r.run_id[-5:] for r in around.runs] == ["meta1", "meta2", "meta3", "meta4", "meta1",
                                                    "meta2"]
    assert around.index == 2


def test_lessons_in_promotion_order_and_on_the_chart():
    # the meta-loop that made the fixtures promoted three lessons after its second run
    # and verb-tense after its fourth
    subject = views.load(run_dir=str(NODE_RUNS[4]))
    table = html(views.lessons(subject))
    assert (table.index("length") < table.index("no-conv-format") < table.index("trailing-period")
            < table.index("verb-tense"))
    assert NODE_RUNS[3].name in table and "2 of last 5" in table
    chart = views.node_scores(subject)
    rounds, per_run = chart.axes
    # one label per gap between runs, numbered like the lessons table: no overlap
    assert [t.get_text() for t in per_run.texts] == ["L1–3", "L4"]
    assert [t.get_position()[0] for t in per_run.texts] == [2.5, 4.5]
    assert list(per_run.lines[0].get_ydata()) == [0.25, 0.25, 0.75, 0.75, 1.0, 1.0]
    assert list(rounds.lines[0].get_ydata()) == [1.0]


def copy_node_runs(tmp_path) -> list:
    runs = sorted(p for p in RECORDED_NODE_RUNS.iterdir() if p.is_dir())
    for src in runs:
        shutil.copytree(src, tmp_path / "commit-msg" / src.name)
    return [tmp_path / "commit-msg" / src.name for src in runs]


def promote(run_dir, key, count=2):
    event = {"ts": "2026-05-22T06:15:07Z", "run_id": run_dir.name, "node": "commit-msg",
             "type": "lesson_promoted", "key": key, "count": count, "window": 5}
    with open(run_dir / "events.jsonl", "a") as fh:
        fh.write(json.dumps(event) + "\n")


@recordings
def test_lessons_promoted_into_recorded_runs(tmp_path):
    runs = copy_node_runs(tmp_path)  # the reference recorded no lesson_promoted events
    promote(runs[1], "length")
    promote(runs[1], "no-conv-format")
    promote(runs[3], "verb-tense")
    subject = views.load(run_dir=str(runs[4]))
    table = html(views.lessons(subject))
    assert table.index("length") < table.index("no-conv-format") < table.index("verb-tense")
    assert "commit-msg-20260522T061509Z-meta4" in table and "2 of last 5" in table
    chart = views.node_scores(subject)
    rounds, per_run = chart.axes
    # one label per gap between runs, numbered like the lessons table: no overlap
    assert [t.get_text() for t in per_run.texts] == ["L1–2", "L3"]
    assert [t.get_position()[0] for t in per_run.texts] == [2.5, 4.5]
    assert list(per_run.lines[0].get_ydata()) == [0.25, 0.25, 0.75, 0.75, 1.0, 1.0]
    assert list(rounds.lines[0].get_ydata()) == [1.0]


@pytest.mark.parametrize("run", [NODE_RUNS[4], pytest.param(
    RECORDED_NODE_RUNS / "commit-msg-20260522T061548Z-meta1", marks=recordings)])
def test_violations_over_runs_stack_per_rule(run):
    subject = views.load(run_dir=str(run))
    fig = views.violations_over_runs(subject)
    labels = [c.get_label() for c in fig.axes[0].containers]
    assert labels == ["length", "no-conv-format", "trailing-period", "verb-tense"]
    assert [bar.get_height() for bar in fig.axes[0].containers[3]] == [0, 0, 3, 3, 0, 0]
    assert "every judged round followed every rule" in repr(views.violations_table(subject))


def test_drill_depth_bedrock_and_tree_on_legacy_drills():
    branch = views.load(run_dir=str(OWN_DRILLS / "legacy-branch"))
    assert depth_by_round(branch.events) == [(1, 1, 1), (2, 1, 1), (3, 2, 1), (4, 2, 2),
                                             (5, 3, 3), (6, 4, None)]
    table = html(views.bedrock(branch))
    assert "Bedrock (2)" in table and "prior-decision × 1, constraint × 1" in table
    assert "we chose one shared database to save money in 2019" in table
    tree = views.drill_tree(branch)
    assert "<details open>" in html(tree) and "BEDROCK · constraint" in html(tree)
    assert "## Bedrock" in repr(tree) and "[BEDROCK:prior-decision]" in repr(tree)
    capped = views.load(run_dir=str(OWN_DRILLS / "legacy-capped"))
    assert "shallow-bedrock" in html(views.violations_table(capped))
    assert "status" in html(views.outcome_table(capped)) and "hard_cap" in html(
        views.outcome_table(capped))


@recordings
def test_drill_depth_bedrock_and_tree_on_recorded_drills():
    branch = views.load(run_dir=str(RECORDED_DRILLS / "smoke-branch"))
    assert depth_by_round(branch.events) == [(1, 1, 1), (2, 1, 1), (3, 2, 1), (4, 2, 2),
                                             (5, 3, None)]
    table = html(views.bedrock(branch))
    assert "Bedrock (2)" in table and "prior-decision × 1, constraint × 1" in table
    assert "rethink — A traces back to choice X" in table
    tree = views.drill_tree(branch)
    assert "<details open>" in html(tree) and "BEDROCK · constraint" in html(tree)
    assert "## Bedrock" in repr(tree) and "[BEDROCK:prior-decision]" in repr(tree)
    harness = views.load(run_dir=str(RECORDED_DRILLS / "harness-smoke"))
    assert "shallow-bedrock" in html(views.violations_table(harness))
    assert "status" in html(views.outcome_table(harness)) and "hard_cap" in html(
        views.outcome_table(harness))
