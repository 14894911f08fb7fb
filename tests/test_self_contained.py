"""The repository stands alone: nothing under deeploop/, notebooks/, bench/ or docs/
refers to a path outside it (.ci/check_paths.py, which .ci/run runs first)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO

SCRIPT = REPO / ".ci" / "check_paths.py"


def load_checker():
    spec = importlib.util.spec_from_file_location("check_paths", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_paths = load_checker()


def test_the_repository_refers_to_nothing_outside_it():
    assert check_paths.check(REPO) == []


def test_ci_runs_the_check_before_the_tests():
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert lines.index("python3 .ci/check_paths.py") < lines.index("make test")


def notebook(source: str, output: str, image: str = "") -> str:
    cell = {"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
            "source": [source],
            "outputs": [{"name": "stdout", "output_type": "stream", "text": [output]}]}
    if image:
        cell["outputs"].append({"output_type": "display_data", "metadata": {},
                                "data": {"image/png": image, "text/plain": ["<Figure>"]}})
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      indent=1)


CLEAN = {
    "deeploop/pkg/mod.py": 'ROOT = Path(__file__).resolve().parents[2]  # the repository\n'
                           'print("see ../README.md")\n',
    "docs/guide.md": "Run `deeploop meta --results examples/results.tsv`; see [the readme]"
                     "(../README.md). Scratch files go to /tmp (any folder).\n",
    "bench/b.py": 'REPO = Path(__file__).resolve().parents[1]\n',
    "notebooks/n.ipynb": notebook('results: str = "../examples/results.tsv"',
                                  "report: $DEEPLOOP_RUNS/experiment/demo/report.html\n",
                                  image="iVBORw0KGgo/work/AAAA"),  # image data is not text
    "Makefile": "root=$(mktemp -d -t deeploop-nbval-XXXXXX)\n",
    "tests/helpers.py": 'RECORDINGS = REPO.parent / "shared" / "fixtures"  # shared/fixtures\n',
}

PLANTED = [
    ("docs/meta.md", "deeploop meta --results ../shared/fixtures/autoresearch/x.tsv\n",
     "recordings beside the checkout"),
    ("notebooks/report.ipynb", notebook('results: str = "../../shared/fixtures/x.tsv"', "ok\n"),
     "recordings beside the checkout"),
    ("notebooks/session.ipynb", notebook("print(path)",
                                         "report: /tmp/deeploop-nbval-lT1lxO/experiment/r.html\n"),
     "temporary folder"),
    ("notebooks/other.ipynb", notebook("run", "saved in /tmp/pytest-of-root/pytest-7/x\n"),
     "temporary folder"),
    ("deeploop/data.py", 'CORPUS = "/work/main/data/corpus.txt"\n', "build machine"),
    ("bench/b2.py", 'OUT = "/home/alice/results"\n', "home folder"),
    ("docs/setup.md", "Put the key in /root/.config/deeploop.\n", "home folder"),
    ("docs/mac.md", "Open /Users/bob/deeploop/runs in Finder.\n", "home folder"),
    ("docs/deep/page.md", "[design](../../../DESIGN.md)\n", "climbs out of the repository"),
    ("deeploop/pkg/far.py", 'HOME = Path(__file__).resolve().parents[3]\n',
     "reaches above the repository root"),
    ("tests/test_new.py", 'DATA = REPO.parent / "shared/fixtures"\n',
     "import it from tests/helpers.py"),
]


def write_tree(root, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_clean_references_pass(tmp_path):
    write_tree(tmp_path, CLEAN)
    assert check_paths.check(tmp_path) == []


@pytest.mark.parametrize("name, text, what", PLANTED, ids=[p[0] for p in PLANTED])
def test_a_planted_reference_is_found(tmp_path, name, text, what):
    write_tree(tmp_path, CLEAN)
    write_tree(tmp_path, {name: text})
    found = check_paths.check(tmp_path)
    assert len(found) >= 1 and all(line.startswith(f"{name}:") for line in found)
    assert any(what in line for line in found)


def test_a_link_out_of_the_repository_is_found(tmp_path):
    write_tree(tmp_path, CLEAN)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.ipynb"
    outside.write_text(notebook("x", "y"))
    (tmp_path / "deeploop" / "templates").mkdir(parents=True)
    (tmp_path / "deeploop" / "templates" / "report.ipynb").symlink_to(outside)
    (tmp_path / "deeploop" / "templates" / "inside.ipynb").symlink_to(
        tmp_path / "notebooks" / "n.ipynb")
    found = check_paths.check(tmp_path)
    assert len(found) == 1 and "a symbolic link to" in found[0]
    assert found[0].startswith("deeploop/templates/report.ipynb:")


def test_the_script_exits_1_with_one_line_per_finding(tmp_path):
    write_tree(tmp_path, CLEAN)
    clean = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)],
                           capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    write_tree(tmp_path, dict((name, text) for name, text, _ in PLANTED[:3]))
    bad = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert [line.split(":")[0] for line in bad.stdout.splitlines()] == [
        "notebooks/report.ipynb", "notebooks/report.ipynb", "notebooks/session.ipynb",
        "docs/meta.md"]
    assert "4 reference(s) to paths outside the repository" in bad.stderr


def load_scrubber():
    spec = importlib.util.spec_from_file_location("scrub_paths",
                                                  REPO / "notebooks" / "scrub_paths.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_notebooks_writes_the_runs_root_as_a_variable(tmp_path):
    """The cause of machine paths in committed outputs: make notebooks runs the
    examples with a temporary runs root; scrub_paths writes it as $DEEPLOOP_RUNS."""
    nbformat = pytest.importorskip("nbformat")
    scrub = load_scrubber()
    root = tmp_path / "deeploop-nbval-a1B2c3"
    root.mkdir()
    link = tmp_path / "link-to-root"
    link.symlink_to(root)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f'print("{root}")  # the source stays as written')
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout",
                               text=f"report: {root}/experiment/demo/report.html\n"),
        nbformat.v4.new_output("execute_result", execution_count=1, data={
            "text/plain": f"PosixPath('{link}/research/r1')",
            "text/html": f"<code>{root}/x</code>", "image/png": f"{root}AAAA"}),
    ]
    nb.cells.append(cell)
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, str(path))
    assert scrub.main(["scrub_paths.py", str(link), str(path)]) == 0
    out = nbformat.read(str(path), as_version=4).cells[0]
    assert out.outputs[0].text == "report: $DEEPLOOP_RUNS/experiment/demo/report.html\n"
    data = out.outputs[1].data
    assert data["text/plain"] == "PosixPath('$DEEPLOOP_RUNS/research/r1')"
    assert data["text/html"] == "<code>$DEEPLOOP_RUNS/x</code>"
    assert data["image/png"] == f"{root}AAAA" and str(root) in out.source
    assert scrub.scrub_notebook(path, str(root)) == 0  # nothing left to replace


def test_nbval_reads_the_variable_and_a_test_runs_root_alike():
    import re
    nbval = pytest.importorskip("nbval.plugin")
    patterns = nbval.get_sanitize_patterns(
        (REPO / "notebooks" / "nbval_sanitize.cfg").read_text())

    def sanitize(text):
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    committed = "report: $DEEPLOOP_RUNS/experiment/notebook-demo/report.html"
    fresh = "report: /tmp/pytest-7/deeploop-nbval-Zx81_q/experiment/notebook-demo/report.html"
    assert sanitize(committed) == sanitize(fresh) == (
        "report: RUNS/experiment/notebook-demo/report.html")


@pytest.mark.parametrize("template", [REPO / "notebooks" / "report.ipynb",
                                      REPO / "deeploop" / "notebook" / "templates" /
                                      "report.ipynb"])
def test_the_report_template_opens_a_run_the_project_ships(template):
    """Opened by hand (the kernel's folder is notebooks/), the report template reads
    a run inside the repository; the packaged template is the same notebook."""
    pytest.importorskip("nbformat")
    from deeploop.notebook.parameters import load_notebook, read_parameters
    declared = read_parameters(load_notebook(template))
    defaults = [declared[name].default for name in ("run_dir", "results")]
    assert sum(bool(d) for d in defaults) == 1  # exactly one subject, as views.load wants
    subject = (REPO / "notebooks" / next(d for d in defaults if d)).resolve()
    assert subject.exists() and REPO in subject.parents
