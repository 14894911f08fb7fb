"""Headless sessions: where they write, what they record, how they fail."""
from __future__ import annotations

import json
import sys

import nbformat
import pytest
from tests.notebook.nbhelpers import DATA, make_notebook, outputs_text, printed_json

from deeploop.errors import InputError, NotFound
from deeploop.notebook.failures import CellFailed, CellTimedOut, KernelDied
from deeploop.notebook.session import SessionState, read_status, run_session

PARAMS = DATA / "params.ipynb"


@pytest.fixture(scope="module")
def passed(tmp_path_factory):
    root = tmp_path_factory.mktemp("passed") / "runs"
    result = run_session(PARAMS, {"experiments": "4", "tag": "nov21", "names": '["x"]'},
                         from_cli={"experiments", "tag", "names"}, root=root, progress=False)
    return root, result


def test_session_lands_in_runs_node_tag_with_run_dir_injected(passed):
    root, result = passed
    run_dir = root / "demo" / "nov21"  # node from the notebook's metadata, id from tag
    assert result.run_dir == run_dir and result.output == run_dir / "session.ipynb"
    assert result.state == SessionState.PASSED
    kernel, seen = printed_json(result.output)
    assert seen["run_dir"] == str(run_dir.resolve())
    assert seen["experiments"] == 4 and seen["names"] == ["x"]
    assert (run_dir / "written.txt").read_text() == "4"  # the notebook wrote into its run


def test_kernel_is_this_python_on_ipc_sockets(passed):
    _, result = passed
    kernel, _ = printed_json(result.output)
    assert kernel["transport"] == "ipc"
    assert kernel["python"] == sys.executable


def test_status_file_records_parameters_status_and_headline(passed):
    _, result = passed
    status = read_status(result.output)
    assert status["status"] == "passed" and status["error"] is None
    assert status["parameters"]["experiments"] == 4
    assert status["headline"] == {"label": "score", "value": 2.0}  # 4 * rate 0.5
    assert result.headline == status["headline"]
    assert status["seconds"] > 0 and status["finished"] >= status["started"]


def test_a_passed_session_is_never_overwritten(passed):
    root, result = passed
    before = result.output.read_bytes()
    with pytest.raises(InputError, match="session already passed"):
        run_session(PARAMS, {"tag": "nov21"}, root=root, progress=False)
    assert result.output.read_bytes() == before


@pytest.fixture(scope="module")
def failed_twice(tmp_path_factory):
    out = tmp_path_factory.mktemp("failed") / "run"
    errors = []
    for x in (1, 5):
        with pytest.raises(CellFailed) as err:
            run_session(DATA / "fails.ipynb", {"x": x}, out=out, progress=False)
        errors.append(err.value)
    return out, errors


def test_failing_cell_is_named_in_one_line(failed_twice):
    out, errors = failed_twice
    message = str(errors[1])
    assert "\n" not in message
    assert message.startswith("cell 3 of 4 [explode] `y = x + 1` raised ValueError: boom at 6")
    assert str(out / "session.ipynb") in message
    assert errors[1].exit_code == 1 and errors[1].cell_index == 2


def test_partial_notebook_is_kept_up_to_the_failure(failed_twice):
    out, _ = failed_twice
    text = outputs_text(out / "session.ipynb")
    assert "before" in text and "never" not in text
    status = read_status(out / "session.ipynb")
    assert status["status"] == "failed" and "boom at 6" in status["error"]


def test_earlier_failed_attempt_is_kept_not_overwritten(failed_twice):
    out, _ = failed_twice
    first = json.loads((out / "session.attempt-1.json").read_text())
    assert "boom at 2" in first["error"]
    nb = nbformat.read(str(out / "session.attempt-1.ipynb"), as_version=4)
    assert any("boom at 2" in str(o) for c in nb.cells for o in c.get("outputs", []))


def test_cell_timeout_is_reported_as_such(tmp_path):
    with pytest.raises(CellTimedOut) as err:  # the 600 s cell is cut short (else the
        run_session(DATA / "sleeps.ipynb", {"seconds": 600}, out=tmp_path, timeout=2,
                    progress=False)           # test's own 300 s timeout fails it)
    assert str(err.value).startswith("cell 3 of 4 `import time` timed out after 2 s")
    assert read_status(tmp_path / "session.ipynb")["status"] == "timed_out"
    text = outputs_text(tmp_path / "session.ipynb")
    assert "start" in text and "after" not in text


def test_dead_kernel_is_reported_and_partial_notebook_kept(tmp_path):
    with pytest.raises(KernelDied) as err:
        run_session(DATA / "dies.ipynb", out=tmp_path / "x.ipynb", progress=False)
    assert str(err.value).startswith("the kernel died while running cell 2 of 3 `import os`")
    assert read_status(tmp_path / "x.ipynb")["status"] == "kernel_died"
    text = outputs_text(tmp_path / "x.ipynb")
    assert "before" in text and "after" not in text


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"notebook": DATA / "missing.ipynb"}, NotFound, "notebook not found"),
    ({"notebook": DATA / "params.txt"}, InputError, "not a notebook"),
    ({"params": {"experiment": 1}}, InputError, "has no parameter 'experiment'"),
    ({"params": {"experiments": "24"}}, InputError, "expects int, got '24'"),
    ({"params": {"tag": "a/b"}}, InputError, "invalid tag"),
    ({"timeout": 0}, InputError, "timeout must be a positive"),
    ({"kernel_name": "no-such-kernel"}, InputError, "kernel 'no-such-kernel' is not installed"),
])
def test_bad_input_fails_before_any_kernel_or_folder(tmp_path, kwargs, error, pattern):
    kwargs = {"notebook": PARAMS, "params": {}, **kwargs}
    with pytest.raises(error, match=pattern):
        run_session(kwargs.pop("notebook"), kwargs.pop("params"), root=tmp_path / "runs",
                    progress=False, **kwargs)
    assert not (tmp_path / "runs").exists()


def test_parameters_for_a_notebook_without_a_parameters_cell(tmp_path):
    plain = make_notebook(tmp_path / "plain.ipynb", ["x = 1"])
    with pytest.raises(InputError, match="no cell tagged 'parameters'"):
        run_session(plain, {"x": 2}, progress=False)


def test_output_may_not_replace_the_source_notebook(tmp_path):
    nb = make_notebook(tmp_path / "n.ipynb", ["x = 1"])
    with pytest.raises(InputError, match="would replace its source"):
        run_session(nb, out=nb, progress=False)
