"""The command line as a person uses it: help, exit codes, one-line errors."""
from __future__ import annotations

import json

import pytest
from tests.helpers import OWN_RESULTS
from tests.notebook.nbhelpers import DATA

from deeploop.cli import main

PARAMS = str(DATA / "params.ipynb")


@pytest.mark.parametrize("command, expected", [
    ("session", ["-p KEY VALUE", "--timeout", "tagged 'parameters'"]),
    ("batch", ["--workers", "--dask", "GRID.yaml", "skips sessions that passed"]),
    ("report", ["--results", "--out", "report.html"]),
])
def test_help(capsys, command, expected):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for fragment in expected:
        assert fragment in text


def test_help_notebook_lists_parameters(capsys):
    assert main(["session", PARAMS, "--help-notebook"]) == 0
    assert "experiments: int = 3  # how many experiments to run" in capsys.readouterr().out


def test_session_with_file_and_command_line_parameters(tmp_path, capsys):
    (tmp_path / "p.yaml").write_text("experiments: 100\nrate: 0.25\n")
    code = main(["session", PARAMS, "-f", str(tmp_path / "p.yaml"), "-p", "experiments", "7",
                 "-p", "tag", "cli", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    run_dir = tmp_path / "runs" / "demo" / "cli"
    assert "session passed" in out and str(run_dir / "session.ipynb") in out
    assert "headline: score = 1.75" in out  # -p experiments 7 beat the file's 100
    status = json.loads((run_dir / "session.json").read_text())
    assert status["parameters"] == {"experiments": 7, "rate": 0.25, "tag": "cli",
                                    "run_dir": str(run_dir.resolve())}


@pytest.mark.parametrize("argv, message", [
    (["session", PARAMS, "-p", "experimentz", "1"], "has no parameter 'experimentz'"),
    (["session", PARAMS, "-p", "experiments", "lots"],
     "parameter 'experiments' expects int, got 'lots'"),
    (["session", "nowhere.ipynb"], "notebook not found: nowhere.ipynb"),
    (["session", PARAMS, "-f", "missing.yaml"], "parameters file not found"),
    (["report"], "give a run folder (RUN_DIR) or --results FILE"),
    (["report", "x", "--results", "y"], "not both"),
    (["report", "--results", str(OWN_RESULTS)],
     "needs an output folder (--out DIR)"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"deeploop {argv[0]}: ")
    assert message in err


def test_bad_batch_file_names_line_and_key(tmp_path, capsys):
    (tmp_path / "g.yaml").write_text(f"notebook: {PARAMS}\ngrid:\n  rate: [0.1, fast]\n")
    assert main(["batch", str(tmp_path / "g.yaml")]) == 2
    err = capsys.readouterr().err
    assert "g.yaml:3: grid.rate: parameter 'rate' expects float, got 'fast'" in err


def test_failing_session_exits_1_with_the_cell_named(tmp_path, capsys):
    code = main(["session", str(DATA / "fails.ipynb"), "--out", str(tmp_path / "r"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "cell 3 of 4 [explode] `y = x + 1` raised ValueError: boom at 2" in err


def test_batch_prints_each_session_and_exits_1_if_any_failed(tmp_path, capsys):
    (tmp_path / "g.yaml").write_text(f"notebook: {PARAMS}\nout: out\n"
                                     "grid: {mode: [ok, raise]}\n")
    code = main(["batch", str(tmp_path / "g.yaml"), "--workers", "2"])
    out = capsys.readouterr().out
    assert code == 1
    assert "mode=ok-" in out and ": passed score=1.5" in out
    assert ": failed" in out and "bad mode raise" in out
    assert "batch g: 1 failed, 1 passed" in out
    assert f"index: {tmp_path / 'out' / 'index.html'}" in out


def test_report_on_a_results_file(tmp_path, capsys):
    assert main(["report", "--results", str(OWN_RESULTS), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {tmp_path / 'report.html'}"
    assert (tmp_path / "report.ipynb").is_file()
