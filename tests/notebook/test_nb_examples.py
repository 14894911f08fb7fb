"""The example notebooks follow the house rules (nbval runs them; these check the
shape), the report template is one file, and a headless experiment session
lands in its experiment's run folder with its report."""
from __future__ import annotations

import json

import nbformat
import pytest
from tests.notebook.nbhelpers import REPO, external_links

from deeploop.cli import main
from deeploop.notebook.parameters import read_parameters
from deeploop.notebook.report import TEMPLATE

NOTEBOOKS = REPO / "notebooks"
EXAMPLES = ["drill", "experiment_session", "node_loop", "report"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_starts_with_documented_parameters(name):
    nb = nbformat.read(str(NOTEBOOKS / f"{name}.ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert not any("parameters" in c.metadata.get("tags", []) for c in code[1:])
    for param in read_parameters(nb).values():
        assert param.hint and param.help, f"{name}: {param.name} needs a type hint and a comment"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_committed_executed_and_thin(name):
    nb = nbformat.read(str(NOTEBOOKS / f"{name}.ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"][1:]
    assert all(c.execution_count for c in code), f"{name}: run `make notebooks` and commit"
    for cell in code:  # calls into the package; no functions or loops defined here
        assert not any(line.startswith(("def ", "class ", "for ", "while "))
                       for line in cell.source.splitlines()), cell.source


@pytest.mark.parametrize("name", ["drill", "experiment_session"])
def test_widget_cells_are_ignored_by_nbval(name):
    nb = nbformat.read(str(NOTEBOOKS / f"{name}.ipynb"), as_version=4)
    for cell in nb.cells:
        widget = any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                     for o in cell.get("outputs", []))
        if widget:
            assert "nbval-ignore-output" in cell.metadata.get("tags", [])


def test_the_package_template_is_the_report_notebook():
    assert TEMPLATE.resolve() == (NOTEBOOKS / "report.ipynb").resolve()
    assert TEMPLATE.read_bytes() == (NOTEBOOKS / "report.ipynb").read_bytes()


def test_headless_session_is_the_experiment_run(tmp_path, monkeypatch, capsys):
    """`deeploop session` makes runs/experiment/<tag>/; the notebook's loop uses it."""
    monkeypatch.setenv("DEEPLOOP_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    code = main(["session", str(NOTEBOOKS / "experiment_session.ipynb"), "-p", "tag", "hl",
                 "-p", "experiments", "0", "-p", "budget", "1", "--no-progress"])
    out = capsys.readouterr().out
    run = tmp_path / "runs" / "experiment" / "hl"
    assert code == 0, out
    assert {"session.ipynb", "session.json", "results.tsv", "workspace", "report.html",
            "outcome.json"} <= {p.name for p in run.iterdir()}
    status = json.loads((run / "outcome.json").read_text())["status"]
    check_final_view(run / "session.ipynb", tmp_path / "session.html", status)
    session = json.loads((run / "session.json").read_text())
    assert session["status"] == "passed" and session["parameters"]["run_dir"] == str(run)
    assert session["headline"]["label"] == "val_bpb" and session["headline"]["value"] > 0
    assert json.loads((run / "outcome.json").read_text())["status"] == "passed"
    assert "Progress" in (run / "report.html").read_text()


def check_final_view(notebook, html_path, status: str):
    """The executed notebook keeps the monitor's end state, not a widget: its
    output is the static snapshot (final status, the chart as SVG), and the
    nbconvert HTML shows it with nothing fetched from the network."""
    from deeploop.notebook.html import export_html
    nb = nbformat.read(str(notebook), as_version=4)
    monitor = [o for c in nb.cells if c.cell_type == "code" and "ExperimentMonitor(" in c.source
               for o in c.outputs if o.get("output_type") == "display_data"]
    assert len(monitor) == 1, monitor
    data = monitor[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in data  # frozen: no model needed
    assert f"{status}: " in data["text/html"] and "<svg" in data["text/html"]
    assert f"status: {status}: " in data["text/plain"] and "VBox(" not in data["text/plain"]
    page = export_html(notebook, html_path, hide_code=False).read_text()
    assert f"{status}: " in page and "deeploop-monitor" in page and "<svg" in page
    assert external_links(page) == [] and "cdn" not in page.lower()
    assert "widget-view+json" not in page and len(page) < 200_000


def test_a_run_dir_outside_experiment_is_refused(tmp_path):
    from deeploop.errors import InputError
    from deeploop.notebook.job import open_experiment
    with pytest.raises(InputError, match="must be <runs root>/experiment/<tag>"):
        open_experiment("", run_dir=tmp_path / "elsewhere" / "x")
    assert not (tmp_path / "elsewhere").exists()
