"""Executed reports on fixture runs and results files: content, HTML, failures."""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from tests.helpers import (OWN_DRILLS, OWN_NODE_RUNS, OWN_RESULTS, OWN_WIDE_RESULTS,
                           RECORDED_DRILLS, RECORDED_NODE_RUNS, RECORDED_RESULTS, recordings)
from tests.notebook.nbhelpers import NODE_RUNS, copy_run, external_links, fixture_run, make_notebook

from deeploop.errors import InputError, NotFound
from deeploop.notebook.failures import CellFailed
from deeploop.notebook.report import build_report

RESULTS = OWN_RESULTS


def images(page: str) -> list[str]:
    """The charts on a page: themed inline SVG, no PNG."""
    assert 'src="data:image/png' not in page
    return re.findall(r'<div class="deeploop-chart"><svg', page)


def row(*cells) -> str:
    """A table row as the views write it: words left-aligned, numbers as they are."""
    return "".join(f"<td>{c}</td>" if re.match(r"^[-+]?[\d.,:%]*\d[\d.,:%]*$", str(c))
                   else f'<td style="text-align: left">{c}</td>' for c in cells)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run = copy_run(NODE_RUNS[0], tmp_path_factory.mktemp("report"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", "Agg")  # the template must still produce its chart
        return run, build_report(run)


def test_report_files_land_in_the_run_folder(report):
    run, result = report
    assert result.notebook == run / "report.ipynb" and result.html == run / "report.html"
    assert sorted(p.name for p in run.iterdir()) == [
        "events.jsonl", "outcome.json", "report.html", "report.ipynb", "seed.md", "state.md"]


def test_report_shows_outcome_chart_and_violations(report):
    _, result = report
    page = result.html.read_text()
    assert NODE_RUNS[0].name in page
    assert "hard_cap" in page and "reached hard cap of 3 rounds" in page
    assert row("no-conv-format", 3, "1, 2, 3") in page
    assert len(images(page)) == 2  # score per round and run, violations over runs; once each


def test_report_html_hides_code_and_fetches_nothing(report):
    _, result = report
    page = result.html.read_text()
    assert "views.load" not in page and "score_chart" not in page
    assert external_links(page) == []
    assert "<script src" not in page


def test_executed_notebook_keeps_code_and_the_injected_run_dir(report):
    run, result = report
    nb = nbformat.read(str(result.notebook), as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert json.dumps(str(run.resolve())) in injected[0].source
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code"
               and "parameters" not in c.metadata.get("tags", []))


@pytest.mark.parametrize("runs_dir", [OWN_NODE_RUNS,
                                      pytest.param(RECORDED_NODE_RUNS, marks=recordings)])
def test_every_commit_msg_run_reports(tmp_path, runs_dir):
    runs = sorted(p for p in runs_dir.iterdir() if p.is_dir())
    assert len(runs) == 6

    def one(run):  # written to tmp: the fixtures are never touched
        return run, build_report(run, tmp_path / run.name)

    with ThreadPoolExecutor(3) as pool:
        done = list(pool.map(one, runs))
    for run, result in done:
        outcome = json.loads((run / "outcome.json").read_text())
        page = result.html.read_text()
        assert row("final score", f"{outcome['final_score']:.6g}") in page
        assert len(images(page)) == 2
        assert not (run / "report.html").exists()


@pytest.mark.parametrize("results, counts, best, experiments", [
    (OWN_RESULTS, (3, 2, 1), "2.052764 (7e5f0a8: WIDTH 128 -&gt; 160)", 6),
    (OWN_WIDE_RESULTS, (2, 2, 1),  # a long description is cut short in the table
     "1.971122 (f39d51a: gradient clipping at 1.0, then LR 3e-3 -&gt; 4.5e-…)", 5),
    pytest.param(RECORDED_RESULTS, (3, 1, 0), "1.807902 (5efc7aa: reduce depth from 8 to 4)", 4,
                 marks=recordings)])
def test_results_file_report(tmp_path, results, counts, best, experiments):
    result = build_report(results, tmp_path / "out")
    page = result.html.read_text()
    kept, discarded, crashed = counts  # the baseline is not counted
    assert row("kept", kept) in page and row("discarded", discarded) in page
    assert row("crashed", crashed) in page
    assert row("experiments (baseline not counted)", experiments) in page
    assert row("best val_bpb", best) in page
    assert len(images(page)) == 1 and external_links(page) == []


def test_failed_rebuild_keeps_the_good_report(tmp_path):
    run = copy_run(fixture_run(), tmp_path)
    (run / "report.ipynb").write_text("GOOD NOTEBOOK")
    (run / "report.html").write_text("GOOD PAGE")
    template = make_notebook(tmp_path / "t.ipynb", ["print(run_dir)", "1 / 0"],
                             params='run_dir: str = ""', tags={1: ["chart"]})
    with pytest.raises(CellFailed) as err:
        build_report(run, template=template)
    message = str(err.value)
    assert message.startswith("report template t.ipynb: cell 3 of 3 [chart] `1 / 0` "
                              "raised ZeroDivisionError")
    assert message.endswith(str(run / "report.failed.ipynb"))
    assert (run / "report.ipynb").read_text() == "GOOD NOTEBOOK"
    assert (run / "report.html").read_text() == "GOOD PAGE"
    assert (run / "report.failed.ipynb").is_file()
    assert not (run / "report.partial.ipynb").exists()


@pytest.mark.parametrize("case, error, pattern", [
    ("empty dir", InputError, "not a run folder"),
    ("unknown id", NotFound, "no run 'no-such-run'"),
    ("results without out", InputError, "needs an output folder"),
    ("missing results", NotFound, "results file not found"),
    ("not results", InputError, "no tab-separated val_bpb column"),
    ("template without run_dir", InputError, "has no parameter 'run_dir'"),
    ("out is a file", InputError, "output must be a folder"),
])
def test_bad_input(tmp_path, case, error, pattern):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.tsv").write_text("a\tb\n1\t2\n")
    (tmp_path / "file").write_text("x")
    template = make_notebook(tmp_path / "t.ipynb", ["pass"], params='results: str = ""')
    calls = {
        "empty dir": lambda: build_report(tmp_path / "empty"),
        "unknown id": lambda: build_report("no-such-run"),
        "results without out": lambda: build_report(RESULTS),
        "missing results": lambda: build_report(tmp_path / "none.tsv", tmp_path, results=True),
        "not results": lambda: build_report(tmp_path / "notes.tsv", tmp_path),
        "template without run_dir": lambda: build_report(fixture_run(), tmp_path / "o",
                                                         template=template),
        "out is a file": lambda: build_report(fixture_run(), tmp_path / "file"),
    }
    with pytest.raises(error, match=pattern):
        calls[case]()
    assert not (tmp_path / "o").exists()  # nothing written for bad input


@pytest.fixture
def experiment_run(tmp_path, monkeypatch):
    """A real experiment run (fake trainer), plus meta-analysis events in the meta
    tier's format, one of whose hypotheses the next experiment tested."""
    from deeploop.events import EventLog
    from deeploop.experiment.rundir import Settings
    from deeploop.experiment.resume import run_experiments
    from deeploop.notebook.job import open_experiment
    from tests.experiment.conftest import corpus_text, install_trainer
    from tests.experiment.test_loop import Scripted
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(corpus_text())
    run, _ = open_experiment("rep", data=str(corpus))
    install_trainer(run)
    list(run_experiments(run, Settings(experiments=3, budget=5, warm_start=False, noise_runs=0),
                         proposer=Scripted({"LR": 0.006}, {"LR": 0.001}, {"MODE": "error"})))
    log = EventLog(run.events_path, "rep", "experiment")
    log.emit("meta_analysis", analysis=1, trigger="interval", analyst="offline", fallback=None,
             experiments=2, best={"val_bpb": 2.0, "commit": "abc1234"}, program_version=2,
             hypotheses=[{"id": "M1.1", "rank": 1, "change": "DEPTH 4 -> 6", "expected": "down",
                          "confidence": "HIGH", "reason": "deeper helped"},
                         {"id": "M1.2", "rank": 2, "change": "LR 0.006 -> 0.008",
                          "expected": "down", "confidence": "LOW", "reason": "a guess"}],
             verdicts=[])
    log.emit("experiment_result", round=4, kind="proposal", status="keep", val_bpb=1.99,
             best_before=2.0, hypothesis={"id": "M1.1"}, description="DEPTH 4 -> 6",
             timing={"total_s": 1.0, "training_seconds": 0.1, "propose_s": 0.0})
    return run


def test_experiment_run_report(experiment_run, tmp_path):
    result = build_report(experiment_run.path)
    page = result.html.read_text()
    assert row("kept", 1) in page and row("discarded", 1) in page and row("crashed", 1) in page
    assert "<h2>Top hits</h2>" in page and "LR -&gt; 0.006" in page
    assert "M1: after 2 experiments, trigger interval, analyst offline" in page
    assert '>confirmed</span></td>' in page and '>pending</span></td>' in page  # pills
    assert "<h2>Time and cost</h2>" in page
    assert len(images(page)) == 1 and external_links(page) == []
    # every experiment in one sortable table, the lineage of keeps, and a small page
    assert "<h2>Every experiment (4)</h2>" in page and 'class="sortable' in page
    assert "sort by" in page and "<h2>Lineage</h2>" in page
    assert "M1.1: DEPTH 4 -&gt; 6" not in page or "hypothesis" in page
    assert len(page.encode()) < 200_000 and "jp-InputCollapser {" not in page
    assert "Score per round" not in page and "Depth tree" not in page  # other kinds' cells


@pytest.mark.parametrize("run", [OWN_DRILLS / name for name in (
    "legacy-capped", "legacy-branch", "legacy-chain", "legacy-open")] + [
    pytest.param(RECORDED_DRILLS / name, marks=recordings)
    for name in ("harness-smoke", "smoke-branch", "smoke-chain")], ids=lambda run: run.name)
def test_legacy_drills_report(tmp_path, run):
    from deeploop.drill.view import load_drill
    page = build_report(run, tmp_path / run.name).html.read_text()
    view = load_drill(run)
    assert "<h2>Tree</h2>" in page and 'title="depth 1">d1</span>' in page  # depth gutter
    assert ('<details open="">' in page) == (run.name in ("smoke-branch", "legacy-branch", "legacy-open"))  # only branches nest
    assert view.tree.root.claim.replace("`", "") in page.replace("`", "")
    bedrock = len(re.findall('BEDROCK:', view.text()))
    assert (f"Bedrock ({bedrock})" if bedrock else "no branch has reached bedrock yet") in page
    assert len(images(page)) == 1  # depth over rounds
    assert not (run / "report.html").exists()


def test_a_drill_from_the_cli_ends_with_its_report(tmp_path, capsys):
    from deeploop.cli import main
    answers = tmp_path / "answers.txt"
    answers.write_text("cause A\nBRANCH:cause B\nBEDROCK:constraint\nrethink\n"
                       "BEDROCK:prior-decision — we chose X\n")
    assert main(["drill", "Why?", "--answers", str(answers), "--run-id", "d1", "--quiet"]) == 0
    page = (tmp_path / "runs" / "deeper" / "d1" / "report.html").read_text()
    assert "Bedrock (2)" in page and "we chose X" in page and "every branch reached bedrock" in page
