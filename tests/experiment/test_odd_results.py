"""Other people's results.tsv files never traceback a reader (property-based).

Random headers (the standard columns in any order, some missing, extra
columns), rows (numbers, words, blanks; statuses in any case; descriptions
in prose, with units, percentages, expressions or junk), encodings (UTF-8,
with a byte-order mark, Latin-1, UTF-16) and line endings are fed to
``deeploop status``, ``deeploop meta --dry-run`` and the report's cells
(``report --results`` runs the same cells in a kernel; one real run is in
``test_report_cli_on_an_odd_file``). Each either works (exit 0) or refuses
with one line (exit 2); none raises.
"""
from __future__ import annotations

import contextlib
import io
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeploop.cli import main

STANDARD = ["commit", "val_bpb", "memory_gb", "status", "description"]
EXTRA = ["mfu", "tok_per_sec", "artifact_mb", "depth", "lr", "notes", "Status", "VAL_BPB"]
KNOBS = ["MATRIX_LR", "DEPTH", "LR", "WARMUP_RATIO", "ACTIVATION", "TOTAL_BATCH_SIZE", "X"]
VALUES = ["0.04", "8", "3e-4", "10%", "2x", "gelu", "2^16", "1e999", "10^999", "-1", "nan",
          "'relu'", "True", "(1, 2)", "0x10", "1_000", "", "→", "4->5", "lr*2", "½"]
PROSE = ["increase LR to 0.04 (from 0.02)", "depth 8", "use GeLU", "batch 2x", "lr=3e-4",
         "+10%", "reduce depth from 8 to 4", "halve total batch size to 2^16", "baseline",
         "baseline (noise run 1/3)", "increase matrix LR to 10^999", "matrix lr 1e-3 -> 1e999",
         "warmup ratio to 0.5 and depth to 12", "lower weight decay to 0.1", "[M1.2] depth up",
         "DEPTH = 7", "embedding lr from 0.6 to nan"]
STATUSES = ["keep", "discard", "crash", "KEEP", "Discard", "CRASH", " keep ", "", "kept",
            "rejected", "interrupted"]

text = st.text(alphabet=st.characters(blacklist_characters="\t\r\n",
                                      blacklist_categories=("Cs",)), max_size=30)


@st.composite
def description(draw):
    kind = draw(st.sampled_from(["prose", "change", "changes", "free"]))
    if kind == "prose":
        return draw(st.sampled_from(PROSE))
    if kind == "free":
        return draw(text)
    changes = [f"{draw(st.sampled_from(KNOBS))} {draw(st.sampled_from(VALUES))} -> "
               f"{draw(st.sampled_from(VALUES))}"
               for _ in range(draw(st.integers(1, 1 if kind == "change" else 3)))]
    return "; ".join(changes) + draw(st.sampled_from(["", " [M1.1]", " [H2]", " (note)"]))


@st.composite
def number_text(draw):
    return draw(st.one_of(
        st.floats(min_value=0.5, max_value=3.0).map(lambda v: f"{v:.6f}"),
        st.sampled_from(["0.000000", "", "nan", "inf", "-1", "banana", "1e400", "2,5", "0"]),
        text))


@st.composite
def cell(draw, column):
    if column in ("val_bpb", "memory_gb"):
        return draw(number_text())
    if column == "status":
        return draw(st.sampled_from(STATUSES))
    if column == "description":
        return draw(description())
    if column == "commit":
        return draw(st.one_of(st.text(alphabet="0123456789abcdef", min_size=0, max_size=7),
                              text))
    return draw(st.one_of(text, number_text()))


@st.composite
def results_file(draw):
    columns = draw(st.lists(st.sampled_from(STANDARD + EXTRA), min_size=1, max_size=11,
                            unique=True))
    if draw(st.booleans()):  # most real files have the two columns a reader needs
        columns += [c for c in ("val_bpb", "status") if c not in columns]
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row = [draw(cell(c)) for c in columns]
        cut = draw(st.integers(0, 2))  # editors drop trailing cells, people add some
        row = row[:len(row) - cut] if cut == 1 else row + ([draw(text)] if cut == 2 else [])
        rows.append("\t".join(row))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    body = newline.join(["\t".join(columns)] + rows) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return body.encode(encoding, errors="replace")


def run_cli(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, err.getvalue()


def assert_clean(code: int, err: str) -> None:
    assert code in (0, 2), err
    if code == 2:
        lines = [line for line in err.splitlines() if not line.startswith("problem:")
                 and "warning:" not in line]
        assert len(lines) == 1, err


FUZZ = settings(max_examples=int(os.environ.get("DEEPLOOP_FUZZ_EXAMPLES", "60")),
                deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])


@FUZZ
@given(data=results_file())
def test_status_never_tracebacks(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("odd") / "results.tsv"
    path.write_bytes(data)
    assert_clean(*run_cli(["status", "--results", str(path)]))
    assert_clean(*run_cli(["status", "--results", str(path), "--json"]))


@FUZZ
@given(data=results_file())
def test_meta_dry_run_never_tracebacks(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("odd") / "results.tsv"
    path.write_bytes(data)
    assert_clean(*run_cli(["meta", "--results", str(path), "--dry-run"]))
    assert list(path.parent.iterdir()) == [path]  # a dry run writes nothing


def report_cells() -> list[str]:
    """The report template's code cells, as the kernel runs them (no magics)."""
    import nbformat
    notebook = Path(__file__).resolve().parents[2] / "deeploop" / "notebook" / "report.ipynb"
    if not notebook.exists():
        notebook = Path(__file__).resolve().parents[2] / "notebooks" / "report.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    return ["\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
            for cell in nb.cells if cell.cell_type == "code"
            and "parameters" not in cell.metadata.get("tags", [])]


@FUZZ
@given(data=results_file())
def test_report_cells_never_traceback(tmp_path_factory, data, monkeypatch):
    """Every cell of the report template on the file: a value that renders, or
    (before any cell runs) the one-line refusal ``report --results`` gives."""
    from deeploop.errors import DeeploopError
    from deeploop.notebook.report import check_results_file
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = tmp_path_factory.mktemp("odd") / "results.tsv"
    path.write_bytes(data)
    try:
        check_results_file(path)
    except DeeploopError as exc:
        assert "\n" not in str(exc)
        return
    scope = {"run_dir": "", "results": str(path)}
    for source in report_cells():
        *body, last = source.strip().splitlines() or [""]
        exec("\n".join(body), scope)
        value = eval(last, scope) if last and not last.startswith("#") else None
        for render in ("_repr_html_", "__repr__"):
            if value is not None and hasattr(value, render):
                getattr(value, render)()


def test_report_cli_on_an_odd_file(tmp_path):
    """``report --results`` itself, in a kernel, on one file with every oddity."""
    pytest.importorskip("papermill")
    rows = ["\ufeffCommit\tVAL_BPB\tmemory_gb\tStatus\tdescription\tmfu\tnotes",
            "a1b2c3d\t1.002300\t44.0\tKEEP\tbaseline\t38.1\tfirst",
            "b2c3d4e\t0.998100\t44.2\tKeep\tincrease LR to 0.04 (from 0.02)\t38.0\t",
            "c3d4e5f\t1.010000\t44.0\tDiscard\tdepth 8\t37.0\tmeh",
            "d4e5f6a\t0.000000\t0.0\tCRASH\tuse GeLU\t0\tOOM",
            "e5f6a7b\t0.997000\t60.1\tkeep\tbatch 2x\t39.0",
            "f6a7b8c\tbanana\t44.0\tdiscard\tlr=3e-4\t38.0\t",
            "a7b8c9d\t0.996500\t44.0\tkeep\tDEPTH 8 -> deep; WARMUP 10% -> 5%\t38.0\t"]
    path = tmp_path / "results.tsv"
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    code, err = run_cli(["report", "--results", str(path), "--out", str(tmp_path / "out")])
    assert code == 0, err
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "a7b8c9d" in html or "0.996500" in html
