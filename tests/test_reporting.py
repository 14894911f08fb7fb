"""Every run ends with a report: on by default for the CLI, off with --no-report,
and a report that fails is a warning that never fails or changes the run."""
from __future__ import annotations

import json

import subprocess
import sys

import pytest

import deeploop.notebook  # noqa: F401  installs the report builder, as the CLI does
from deeploop.cli import main
from deeploop.errors import MissingDependency
from deeploop.reporting import end_with_report


def test_disabled_builds_nothing(tmp_path):
    called = []
    assert end_with_report(tmp_path, enabled=False, build=called.append) is None
    assert called == []


def test_a_failing_build_is_one_warning_line(tmp_path):
    def broken(run_dir):
        raise MissingDependency("papermill", "notebook")
    warnings = []
    assert end_with_report(tmp_path, build=broken, warn=warnings.append) is None
    assert warnings == [f"deeploop: warning: no report for {tmp_path}: papermill is not "
                        "installed: pip install 'deeploop[notebook]'"]


def test_a_built_report_returns_its_page(tmp_path):
    class Built:
        html = tmp_path / "report.html"
    assert end_with_report(tmp_path, build=lambda run_dir: Built()) == tmp_path / "report.html"


def test_the_core_never_imports_the_notebook_layer_and_warns_without_a_builder(tmp_path):
    code = ("import sys, deeploop.reporting as r, deeploop.runs, deeploop.nodeloop.metaloop, "
            "deeploop.research.loop; assert 'deeploop.notebook' not in sys.modules; "
            f"r.end_with_report({str(tmp_path)!r}, warn=print)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"deeploop: warning: no report for {tmp_path}: no report builder "
                           "installed (import deeploop.notebook)\n")


def test_loop_ends_with_a_report_by_default(runs_root, seed_file, capsys):
    code = main(["loop", "commit-msg", "--seed", str(seed_file), "--hard-cap", "1",
                 "--run-id", "rep", "--model", "mock:commit-msg"])
    captured = capsys.readouterr()
    run_dir = runs_root / "commit-msg" / "rep"
    assert code == 0 and f"report: {run_dir / 'report.html'}" in captured.err
    assert "Score per round" not in captured.out  # charts live in the page, not on stdout
    page = (run_dir / "report.html").read_text()
    assert "Run rep" in page and "hard_cap" in page


def test_a_failing_report_never_fails_the_run(runs_root, seed_file, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("kernel exploded\nsecond line")
    monkeypatch.setattr("deeploop.reporting.report_builder", broken)
    code = main(["meta-loop", "commit-msg", "--seed", str(seed_file), "--runs", "2",
                 "--hard-cap", "1", "--model", "mock:commit-msg"])
    err = capsys.readouterr().err
    assert code == 0
    warnings = [line for line in err.splitlines() if "warning: no report" in line]
    assert len(warnings) == 2 and all(w.endswith(": kernel exploded") for w in warnings)
    for run_dir in (runs_root / "commit-msg").iterdir():
        assert json.loads((run_dir / "outcome.json").read_text())["rounds"] == 1
        assert not (run_dir / "report.html").exists()


@pytest.mark.parametrize("command", [["loop"], ["meta-loop"], ["drill"],
                                     ["experiment", "run"]])
def test_every_run_command_offers_no_report(command, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    assert "--no-report" in capsys.readouterr().out
