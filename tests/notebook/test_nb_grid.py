"""Batch files: expansion into sessions, and mistakes named by line and key."""
from __future__ import annotations

import pytest
from tests.notebook.nbhelpers import DATA

from deeploop.errors import InputError, NotFound
from deeploop.notebook.grid import load_grid, session_id
from deeploop.runs import validate_run_id

NOTEBOOK = DATA / "params.ipynb"


def grid_file(tmp_path, body: str, name="grid.yaml"):
    path = tmp_path / name
    path.write_text(f"notebook: {NOTEBOOK}\n{body}")
    return path


def test_grid_is_the_cartesian_product_plus_shared_parameters(tmp_path):
    grid = load_grid(grid_file(tmp_path, "parameters: {rate: 2}\n"
                                         "grid:\n  mode: [ok, raise]\n  experiments: [1, 2, 3]\n"))
    assert [s.varying for s in grid.sessions] == [
        {"mode": m, "experiments": e} for m in ("ok", "raise") for e in (1, 2, 3)]
    assert all(s.parameters["rate"] == 2.0 for s in grid.sessions)
    assert grid.name == "grid" and grid.out == (tmp_path / "runs" / "batch" / "grid").resolve()
    assert all(s.line == 3 for s in grid.sessions)


def test_explicit_session_list_and_options(tmp_path):
    grid = load_grid(grid_file(tmp_path, "name: night\nout: here\ntimeout: 2.5\nworkers: 3\n"
                                         "sessions:\n  - {experiments: 1}\n  - {experiments: 9, tag: b}\n"))
    assert [s.parameters for s in grid.sessions] == [{"experiments": 1},
                                                     {"experiments": 9, "tag": "b"}]
    assert [s.line for s in grid.sessions] == [7, 8]
    assert (grid.name, grid.out, grid.timeout, grid.workers) == \
        ("night", (tmp_path / "here").resolve(), 3, 3)


def test_session_ids_are_readable_stable_and_track_every_parameter(tmp_path):
    grid = load_grid(grid_file(tmp_path, "grid:\n  names: [[a, b], ['x/../y']]\n"))
    ids = [s.sid for s in grid.sessions]
    assert len(set(ids)) == 2 and all(validate_run_id(i) for i in ids)
    assert ids[0].startswith("names=-a-b-")
    assert ids == [s.sid for s in load_grid(grid.path).sessions]  # stable across loads
    assert session_id({"a": 1}, {"a": 1}) != session_id({"a": 1}, {"a": 1, "rate": 2.0})


@pytest.mark.parametrize("body, where, problem", [
    ("notbook: x\ngrid: {mode: [ok]}\n", ":2: notbook", "unknown key"),
    ("grid:\n  mode: ok\n", ":3: grid.mode", "non-empty list"),
    ("grid:\n  mode: [ok]\n  lrr: [1, 2]\n", ":4: grid.lrr", "has no parameter 'lrr'"),
    ("sessions:\n  - {experiments: 1}\n  - {experiments: two}\n",
     ":4: sessions[1].experiments", "parameter 'experiments' expects int, got 'two'"),
    ("sessions:\n  - experiments\n", ":3: sessions[0]", "must be a mapping"),
    ("sessions:\n  - {experiments: 1}\n  - {experiments: 1}\n", ":4: sessions[1]",
     "duplicate session (same parameters as line 3)"),
    ("grid: {mode: [ok]}\nsessions: [{mode: ok}]\n", ":2: grid", "not both"),
    ("parameters: {experiments: 1}\n", ":1:", "give grid"),
    ("parameters: {run_dir: /tmp}\ngrid: {mode: [ok]}\n", ":2: parameters.run_dir",
     "set by the batch"),
    ("grid: {mode: [ok]}\ntimeout: -1\n", ":3: timeout", "positive number"),
    ("grid: {mode: [ok]}\nworkers: 1.5\n", ":3: workers", "positive whole number"),
    ("grid: {mode: [ok]}\nname: a/b\n", ":3: name", "invalid batch name"),
    ("grid:\n  mode: [ok\n", ":4", "not valid YAML"),
])
def test_mistakes_name_file_line_and_key(tmp_path, body, where, problem):
    path = grid_file(tmp_path, body)
    with pytest.raises(InputError) as err:
        load_grid(path)
    message = str(err.value)
    assert message.startswith(f"{path}{where}"), message
    assert problem in message and "\n" not in message


def test_missing_notebook_key_and_missing_notebook_file(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("grid: {a: [1]}\n")
    with pytest.raises(InputError, match=r"g.yaml:1: give the notebook to run"):
        load_grid(path)
    path.write_text("# overnight\nnotebook: nope.ipynb\ngrid: {a: [1]}\n")
    with pytest.raises(NotFound, match=r"g.yaml:2: notebook: not found: .*nope.ipynb"):
        load_grid(path)


def test_a_batch_file_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(InputError, match=r"g.yaml:1: the batch file must be a mapping"):
        load_grid(path)
    with pytest.raises(InputError, match="batch file not found"):
        load_grid(tmp_path / "none.yaml")
