"""A batch file: which notebook, and which parameter sets to run it with.

    notebook: experiment_session.ipynb   # relative to this file
    name: overnight                       # optional; default: this file's name
    out: runs/batch/overnight             # optional; default <runs root>/batch/<name>
    parameters: {experiments: 8}          # optional; shared by every session
    grid:                                 # every combination (cartesian) ...
      lr: [0.01, 0.04]
      depth: [2, 4]
    sessions:                             # ... or an explicit list (not both)
      - {lr: 0.01, depth: 2}
    timeout: 600                          # optional; seconds per cell
    workers: 2                            # optional; --workers wins

Every mistake is reported as ``FILE:LINE: key: problem`` before anything
runs: unknown keys, wrong shapes, parameters the notebook does not declare,
values of the wrong type, duplicate sessions.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import DeeploopError, InputError, NotFound
from ..fileio import read_text
from ..runs import runs_root, validate_run_id
from .parameters import load_notebook, node_of, read_parameters, validate

_KEYS = ("notebook", "name", "out", "parameters", "grid", "sessions", "timeout", "workers")
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


@dataclass(frozen=True)
class SessionSpec:
    sid: str           # the session's folder name (Grid.session_dir); stable across re-runs
    parameters: dict   # everything passed to the notebook
    varying: dict      # this session's own values (what tells it apart)
    line: int          # where it came from in the batch file


@dataclass(frozen=True)
class Grid:
    path: Path
    notebook: Path
    name: str
    out: Path
    sessions: list[SessionSpec]
    timeout: int | None = None
    workers: int | None = None
    node: str = "session"  # the notebook's run kind (metadata.deeploop.node, else its name)

    def session_dir(self, spec: SessionSpec) -> Path:
        """``<batch folder>/<node>/<session id>``: a batch folder is a runs root."""
        return self.out / self.node / spec.sid


def load_grid(path: Path | str, root: Path | None = None) -> Grid:
    path = Path(path)
    text = read_text(path, "batch file")
    data, node = parse_yaml(text, path)
    at = _Locator(path, node)
    if not isinstance(data, dict):
        raise at.error((), "the batch file must be a mapping of keys (notebook, grid, ...)")
    for key in data:
        if key not in _KEYS:
            raise at.error((key,), f"unknown key (known: {', '.join(_KEYS)})")
    notebook = _notebook(data, path, at)
    nb = load_notebook(notebook)
    declared = read_parameters(nb)
    name = _name(data, path, at)
    out = _out(data, path, name, root)
    common = _common(data, declared, notebook, at)
    sessions = _sessions(data, common, declared, notebook, at)
    return Grid(path, notebook, name, out, sessions, _positive(data, "timeout", at, float),
                _positive(data, "workers", at, int), node_of(notebook, nb))


def session_id(varying: dict, parameters: dict) -> str:
    """``lr=0.01_depth=2-1a2b3c``: readable, and changes when any parameter does."""
    digest = hashlib.sha1(json.dumps(parameters, sort_keys=True, default=str)
                          .encode()).hexdigest()[:6]
    slug = "_".join(f"{k}={_scalar(v)}" for k, v in varying.items())
    slug = re.sub(r"\.{2,}", ".", _SLUG_UNSAFE.sub("-", slug))[:48].strip("-._")
    return f"{slug}-{digest}" if slug else digest


# --- sections ---------------------------------------------------------------

def _notebook(data: dict, path: Path, at) -> Path:
    value = data.get("notebook")
    if not isinstance(value, str) or not value.strip():
        raise at.error(("notebook",) if "notebook" in data else (),
                       "give the notebook to run: notebook: path/to/notebook.ipynb")
    notebook = (path.parent / value).resolve()
    if not notebook.is_file():
        raise NotFound(f"{at.where(('notebook',))}: notebook: not found: {notebook}")
    return notebook


def _name(data: dict, path: Path, at) -> str:
    name = data.get("name", path.stem)
    try:
        return validate_run_id(str(name), "batch name")
    except InputError as exc:
        raise at.error(("name",), str(exc)) from None


def _out(data: dict, path: Path, name: str, root: Path | None) -> Path:
    if data.get("out"):
        return (path.parent / str(data["out"])).resolve()
    return ((root or runs_root()) / "batch" / name).resolve()


def _common(data: dict, declared: dict, notebook: Path, at) -> dict:
    common = data.get("parameters") or {}
    if not isinstance(common, dict):
        raise at.error(("parameters",), "must be a mapping of parameter: value")
    return _checked(common, declared, notebook, at, ("parameters",))


def _sessions(data: dict, common: dict, declared: dict, notebook: Path, at) -> list[SessionSpec]:
    if ("grid" in data) == ("sessions" in data):
        raise at.error(("grid",) if "grid" in data else (),
                       "give either grid (every combination) or sessions (a list), not both"
                       if "grid" in data else "give grid (every combination) or sessions (a list)")
    if "grid" in data:
        rows = list(_grid_rows(data["grid"], at))
    else:
        rows = list(_list_rows(data["sessions"], at))
    specs, seen = [], {}
    for varying, key_path in rows:
        own = _checked(varying, declared, notebook, at, key_path)
        full = {**common, **own}
        sid = session_id(own, full)
        if sid in seen:
            raise at.error(key_path, f"duplicate session (same parameters as line {seen[sid]})")
        seen[sid] = at.line(key_path)
        specs.append(SessionSpec(sid, full, own, at.line(key_path)))
    return specs


def _grid_rows(grid, at):
    if not isinstance(grid, dict) or not grid:
        raise at.error(("grid",), "must map each parameter to a list of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise at.error(("grid", key), "must be a non-empty list of values, e.g. [1, 2]")
    names = list(grid)
    for combo in itertools.product(*(grid[n] for n in names)):
        yield dict(zip(names, combo)), ("grid",)


def _list_rows(sessions, at):
    if not isinstance(sessions, list) or not sessions:
        raise at.error(("sessions",), "must be a non-empty list of parameter mappings")
    for i, row in enumerate(sessions):
        if not isinstance(row, dict):
            raise at.error(("sessions", i), "each session must be a mapping of parameter: value")
        yield row, ("sessions", i)


def _checked(values: dict, declared: dict, notebook: Path, at, key_path: tuple) -> dict:
    if "run_dir" in values:
        raise at.error(key_path + ("run_dir",), "is set by the batch (each session's folder)")
    checked = {}
    for key, value in values.items():
        try:
            checked.update(validate(declared, {key: value}, where=notebook.name))
        except InputError as exc:
            raise at.error(key_path + (key,), str(exc)) from None
    return checked


def _positive(data: dict, key: str, at, kind) -> int | None:
    if key not in data or data[key] is None:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 \
            or (kind is int and not isinstance(value, int)):
        raise at.error((key,), f"must be a positive {'whole ' if kind is int else ''}number, "
                               f"got {value!r}")
    return int(-(-value // 1))  # seconds round up: papermill wants an int


# --- YAML with line numbers -------------------------------------------------

def parse_yaml(text: str, path: Path):
    """(data, node tree); a syntax error names the file and line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{path}{line}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()
    return data, node


class _Locator:
    """Turns a key path such as ("grid", "lr") into ``file:line: grid.lr``."""

    def __init__(self, path: Path, node):
        self.path, self.node = path, node

    def line(self, key_path: tuple) -> int:
        node, line = self.node, 1
        if node is not None:
            line = node.start_mark.line + 1
        for key in key_path:
            node, line = _child(node, key, line)
        return line

    def where(self, key_path: tuple) -> str:
        return f"{self.path}:{self.line(key_path)}"

    def error(self, key_path: tuple, problem: str) -> DeeploopError:
        label = _label(key_path)
        return InputError(f"{self.where(key_path)}: {label + ': ' if label else ''}{problem}",
                          line=self.line(key_path), key=label)


def _child(node, key, line: int):
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(key):
                return value_node, key_node.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        item = node.value[key]
        return item, item.start_mark.line + 1
    return None, line


def _label(key_path: tuple) -> str:
    text = ""
    for key in key_path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _scalar(value) -> str:
    return json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
