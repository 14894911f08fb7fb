"""Autoescaping is on for every kind of page: a name, claim or description
with <script> in it reaches the HTML as text (report cells and report.html,
the batch index, the monitor's widget lines and snapshot, the drill tree,
its shape and the drill widget)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.drill.drill_helpers import pure_drill
from tests.experiment.conftest import corpus_text, install_trainer

from deeploop.drill.render import render_html, summary_html
from deeploop.drill.shape import shape_svg
from deeploop.notebook import views
from deeploop.notebook.index import Row, render_index
from deeploop.notebook.job import open_experiment
from deeploop.templating import environment, pill

EVIL = "<script>alert(1)</script>"
SHOWN = "&lt;script&gt;alert(1)&lt;/script&gt;"


def assert_escaped(html: str, times: int = 1) -> None:
    assert EVIL not in html and "<script" not in html
    assert html.count(SHOWN) >= times, html[:400]


def test_the_environment_autoescapes():
    assert environment().autoescape is True
    assert_escaped(pill("keep", EVIL))


@pytest.fixture
def evil_results(tmp_path) -> Path:
    """An autoresearch results.tsv in a folder named <script>, a description too."""
    folder = tmp_path / "<script>alert(1)"
    folder.mkdir()
    path = folder / "results.tsv"
    path.write_text("commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"
                    "1f3a9c0\t2.143187\t1.1\tkeep\tbaseline\n"
                    f"9c0d7e2\t2.097350\t1.1\tkeep\tLR 0.003 -> 0.006 {EVIL}\n",
                    encoding="utf-8")
    return path


def test_report_cells_escape_names_and_descriptions(evil_results):
    subject = views.load(results=str(evil_results))
    title = views.title(subject)._repr_html_()
    assert "&lt;script&gt;alert(1)" in title and "<script" not in title
    for cell in (views.top_hits, views.experiment_table, views.outcome_table):
        assert_escaped(cell(subject)._repr_html_())


def test_a_node_run_named_with_script_is_escaped_in_its_title(tmp_path):
    from tests.notebook.nbhelpers import NODE_RUNS, copy_run
    run = copy_run(NODE_RUNS[0], tmp_path)
    evil = run.with_name(run.name + "<script>alert(1)")
    run.rename(evil)
    html = views.title(views.load(run_dir=str(evil)))._repr_html_()
    assert "<script" not in html and "&lt;script&gt;alert(1)" in html


def test_report_page_escapes_a_description(evil_results, tmp_path):
    from deeploop.notebook.report import build_report
    page = build_report(evil_results, tmp_path / "out").html.read_text(encoding="utf-8")
    assert EVIL not in page and SHOWN in page


def test_batch_index_escapes_every_field():
    grid = SimpleNamespace(name=EVIL, notebook=Path(f"/x/{EVIL.replace('/', '')}.ipynb"))
    rows = [Row(EVIL, {EVIL: EVIL}, "passed", {"label": EVIL, "value": EVIL}, 1.0, EVIL,
                f"node/{EVIL}/report.html"),
            Row("s2", {}, EVIL, None, None, None, None)]
    html = render_index(grid, rows)
    assert "<script" not in html
    assert html.count(SHOWN) >= 7  # title, heading, sid, key, value, label, value, error


def test_monitor_lines_and_snapshot_escape_descriptions(tmp_path):
    from deeploop.notebook.monitor import ExperimentMonitor
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(corpus_text(), encoding="utf-8")
    run, _ = open_experiment("esc", data=str(corpus))
    install_trainer(run)
    monitor = ExperimentMonitor("esc", noise_runs=0, report=False, budget=5, warm_start=False)
    monitor.update({"type": "experiment_committed", "round": 1, "description": EVIL,
                    "hypothesis": {"id": "M1.1", "change": EVIL}})
    assert_escaped(monitor.testing.value, 2)
    monitor.update({"type": "experiment_result", "round": 1, "status": "keep",
                    "val_bpb": 2.0, "description": EVIL})
    assert_escaped(monitor.last.value)
    monitor._warn(EVIL)
    assert_escaped(monitor.status.value)
    html, text = monitor.snapshot()
    assert_escaped(html, 3)  # testing, status and the last result
    assert EVIL in text  # the plain-text view shows it as it is


def test_drill_tree_shape_and_summary_escape_claims():
    answers = [EVIL, "BRANCH:" + EVIL, f"BEDROCK:empirical — {EVIL}"]
    tree = pure_drill(answers, claim=EVIL)[3]
    assert_escaped(render_html(tree, title=EVIL), 5)  # title, root, two causes, rationale
    assert_escaped(shape_svg(tree), 3)
    assert_escaped(summary_html(f"drill {EVIL}", tree), 6)
