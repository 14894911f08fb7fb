"""Report cells called directly (no kernel): each kind gets its sections, the
others show nothing; recorded reference runs and hand-made runs both work."""
from __future__ import annotations

import json
import shutil

import matplotlib
import pytest
from tests.notebook.nbhelpers import COMMIT_MSG, FIXTURES

from deeploop.errors import InputError
from deeploop.notebook import views
from deeploop.notebook.views_drill import depth_by_round
from deeploop.notebook.views_node import node_runs

matplotlib.use("Agg")
DRILLS = FIXTURES / "deeper-legacy" / "deeper"
RESULTS = FIXTURES / "autoresearch" / "mlx-results.tsv"
EXPERIMENT_CELLS = [views.progress_chart, views.top_hits, views.meta_timeline,
                    views.time_and_cost]
NODE_CELLS = [views.node_scores, views.violations_over_runs, views.lessons]
DRILL_CELLS = [views.drill_tree, views.drill_depth, views.bedrock]


def html(shown) -> str:
    return shown._repr_html_()


@pytest.mark.parametrize("where, kind", [
    (COMMIT_MSG / "commit-msg-20260522T061505Z-meta1", "node"),
    (DRILLS / "smoke-chain", "drill"), (DRILLS / "harness-smoke", "drill")])
def test_kind_decides_which_cells_show(where, kind):
    subject = views.load(run_dir=str(where))
    assert subject.kind == kind
    mine = {"node": NODE_CELLS, "drill": DRILL_CELLS}[kind]
    others = [c for c in EXPERIMENT_CELLS + NODE_CELLS + DRILL_CELLS if c not in mine]
    assert all(cell(subject) is None for cell in others)
    assert all(cell(subject) is not None for cell in mine)


def test_results_file_subject():
    subject = views.load(results=str(RESULTS))
    assert subject.kind == "experiment" and subject.record is None
    assert len(subject.results.rows) == 5
    assert views.violations_table(subject) is None and views.drill_tree(subject) is None
    assert "a results.tsv alone records neither" in repr(views.time_and_cost(subject))
    hits = html(views.top_hits(subject))
    assert hits.index("reduce depth from 8 to 4") < hits.index("halve total batch size")
    fig = views.progress_chart(subject)
    labels = [t for t in fig.axes[0].texts if t.get_gid() == "deeploop-label"]
    assert sorted(t.get_text() for t in labels) == [
        "halve total batch size to 2^16", "increase matrix LR to 0.04", "reduce depth from 8 to 4"]
    assert labels[0].get_text() == "reduce depth from 8 to 4"  # the biggest gain first
    shown = [t.get_window_extent() for t in labels if t.get_visible()]
    assert shown and not any(a.overlaps(b) for i, a in enumerate(shown) for b in shown[i + 1:])
    assert fig.svg.startswith("<svg") and "currentColor" in fig.svg and repr(fig).startswith(
        "Progress: 5 rows")


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


def test_node_runs_window_is_ordered_by_start(tmp_path):
    this = COMMIT_MSG / "commit-msg-20260522T061507Z-meta3"
    around = node_runs(views.load(run_dir=str(this)).record)
    assert [r.run_id[-5:] for r in around.runs] == ["meta1", "meta2", "meta3", "meta4", "meta1",
                                                    "meta2"]
    assert around.index == 2
    assert len(node_runs(views.load(run_dir=str(this)).record, radius=1).runs) == 3


def copy_node_runs(tmp_path) -> list:
    runs = sorted(p for p in COMMIT_MSG.iterdir() if p.is_dir())
    for src in runs:
        shutil.copytree(src, tmp_path / "commit-msg" / src.name)
    return [tmp_path / "commit-msg" / src.name for src in runs]


def promote(run_dir, key, count=2):
    event = {"ts": "2026-05-22T06:15:07Z", "run_id": run_dir.name, "node": "commit-msg",
             "type": "lesson_promoted", "key": key, "count": count, "window": 5}
    with open(run_dir / "events.jsonl", "a") as fh:
        fh.write(json.dumps(event) + "\n")


def test_lessons_in_promotion_order_and_on_the_chart(tmp_path):
    runs = copy_node_runs(tmp_path)
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


def test_violations_over_runs_stack_per_rule():
    subject = views.load(run_dir=str(COMMIT_MSG / "commit-msg-20260522T061548Z-meta1"))
    fig = views.violations_over_runs(subject)
    labels = [c.get_label() for c in fig.axes[0].containers]
    assert labels == ["length", "no-conv-format", "trailing-period", "verb-tense"]
    assert [bar.get_height() for bar in fig.axes[0].containers[3]] == [0, 0, 3, 3, 0, 0]
    assert "every judged round followed every rule" in repr(views.violations_table(subject))


def test_drill_depth_bedrock_and_tree_on_recorded_drills():
    branch = views.load(run_dir=str(DRILLS / "smoke-branch"))
    assert depth_by_round(branch.events) == [(1, 1, 1), (2, 1, 1), (3, 2, 1), (4, 2, 2),
                                             (5, 3, None)]
    table = html(views.bedrock(branch))
    assert "Bedrock (2)" in table and "prior-decision × 1, constraint × 1" in table
    assert "rethink — A traces back to choice X" in table
    tree = views.drill_tree(branch)
    assert "<details open>" in html(tree) and "BEDROCK · constraint" in html(tree)
    assert "## Bedrock" in repr(tree) and "[BEDROCK:prior-decision]" in repr(tree)
    harness = views.load(run_dir=str(DRILLS / "harness-smoke"))
    assert "shallow-bedrock" in html(views.violations_table(harness))
    assert "status" in html(views.outcome_table(harness)) and "hard_cap" in html(
        views.outcome_table(harness))


def test_drill_without_judged_rounds_says_so(tmp_path):
    run = tmp_path / "deeper" / "fresh"
    run.mkdir(parents=True)
    (run / "seed.md").write_text("# Starting claim\n\nWhy is the sky blue?\n")
    subject = views.load(run_dir=str(run))
    assert subject.kind == "drill"
    assert "no judged rounds" in repr(views.drill_depth(subject))
    assert "neither a drill journal nor a tree.json" in repr(views.bedrock(subject))
    assert repr(views.drill_tree(subject)).startswith("Tree: none to show (")
    (run / "tree.json").write_text(json.dumps({"root": {"claim": "Why is the sky blue?",
                                                        "tag": "from-user", "bedrock": None,
                                                        "children": []}, "cursor": []}))
    assert "no branch has reached bedrock" in repr(views.bedrock(views.load(run_dir=str(run))))
