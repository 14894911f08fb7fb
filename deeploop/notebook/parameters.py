"""A notebook's parameters cell: what it declares, and checking what is given.

The cell tagged ``parameters`` holds one assignment per parameter, with an
optional type hint and a comment that documents it::

    tag: str = ""        # run name; the run folder is runs/experiment/<tag>
    experiments: int = 24  # how many experiments to run

We read it with ``ast`` rather than papermill's regex so hints such as
``str | None`` and multi-line defaults work. An unknown parameter is an
error (papermill only warns); a value of the wrong type is an error naming
the parameter, the expected type and the value. Strings from the command line
(``-p experiments 24``) are converted by the hint, or by the default's type.
"""
from __future__ import annotations

import ast
import io
import json
import tokenize
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, NotFound
from ..fileio import read_text
from ..runs import validate_run_id

_SCALARS = {"int": int, "float": float, "str": str, "bool": bool,
            "list": list, "dict": dict}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE = {"none", "null", "~"}


@dataclass(frozen=True)
class Parameter:
    name: str
    hint: str | None       # the annotation as written, e.g. "int" or "str | None"
    default: object        # the default's value when it is a literal, else None
    default_source: str    # the default as written in the cell
    help: str              # the comment at the end of the line

    @property
    def kinds(self) -> tuple[set[str], bool] | None:
        """(accepted scalar kinds, None allowed), or None when anything goes."""
        return _kinds(self.hint, self.default)

    def describe(self) -> str:
        kind = self.hint or (type(self.default).__name__ if self.default is not None else "any")
        text = f"{self.name}: {kind} = {self.default_source}"
        return f"{text}  # {self.help}" if self.help else text


def load_notebook(path: Path | str):
    """Read an .ipynb as an nbformat node, or raise a one-line error naming it."""
    nbformat = _nbformat()
    path = Path(path)
    if not path.exists():
        raise NotFound(f"notebook not found: {path}", path=str(path))
    try:
        return nbformat.reads(read_text(path, "notebook"), as_version=4)
    except (ValueError, KeyError, TypeError) as exc:  # bad JSON, not a notebook
        raise InputError(f"not a Jupyter notebook: {path} ({str(exc).splitlines()[0][:80]})",
                         path=str(path)) from None


def node_of(path: Path, nb) -> str:
    """The run kind a notebook's sessions belong to: ``metadata.deeploop.node``,
    else the notebook's file name."""
    return validate_run_id(str(nb.metadata.get("deeploop", {}).get("node") or Path(path).stem),
                           "node name")


def read_parameters(notebook) -> dict[str, Parameter]:
    """The parameters a notebook (path or node) declares, in cell order."""
    nb = load_notebook(notebook) if isinstance(notebook, (str, Path)) else notebook
    cell = parameters_cell(nb)
    if cell is None:
        return {}
    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    return {p.name: p for p in _parse_cell(source, _label(notebook))}


def parameters_cell(nb):
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def validate(declared: dict[str, Parameter], given: dict, *, from_cli: frozenset = frozenset(),
             where: str = "notebook") -> dict:
    """Check given values against the declared parameters; return them converted.

    Names in ``from_cli`` hold strings typed on a command line and are
    converted by the parameter's type; other values must already have it.
    """
    checked = {}
    for name, value in given.items():
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise InputError(f"{where} has no parameter {name!r} (it has: {known})", name=name)
        param = declared[name]
        if name in from_cli and isinstance(value, str):
            value = coerce(param, value)
        checked[name] = check_type(param, value)
    return checked


def coerce(param: Parameter, text: str):
    """Turn a command-line string into the parameter's type."""
    kinds = param.kinds
    if kinds is None:
        return text
    allowed, nullable = kinds
    if nullable and text.strip().lower() in _NONE:
        return None
    for kind in ("bool", "int", "float", "list", "dict"):  # most specific first
        if kind in allowed:
            converted = _convert(kind, text.strip())
            if converted is not _FAIL:
                return converted
    if "str" in allowed:
        return text
    raise _type_error(param, text)


def check_type(param: Parameter, value):
    kinds = param.kinds
    if kinds is None:
        return value
    allowed, nullable = kinds
    if value is None and nullable:
        return value
    if isinstance(value, bool):
        ok = "bool" in allowed  # bool is an int subclass; never pass it as one
    elif isinstance(value, int):
        ok = "int" in allowed or "float" in allowed
    else:
        ok = any(isinstance(value, _SCALARS[k]) for k in allowed)
    if not ok:
        raise _type_error(param, value)
    if type(value) is int and "int" not in allowed:
        return float(value)  # 1 where a float is declared: the notebook sees 1.0
    return value


# --- parsing the cell -------------------------------------------------------

def _parse_cell(source: str, where: str) -> list[Parameter]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise InputError(f"{where}: parameters cell line {exc.lineno}: {exc.msg}") from None
    comments = _comments(source)
    params = []
    for node in tree.body:
        target, hint = _target(node)
        if target is None or node.value is None:
            continue
        default_source = ast.get_source_segment(source, node.value) or ""
        params.append(Parameter(target, hint, _literal(node.value), default_source,
                                comments.get(node.end_lineno, "")))
    return params


def _target(node) -> tuple[str | None, str | None]:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, ast.unparse(node.annotation).strip("'\"")
    if isinstance(node, ast.Assign) and len(node.targets) == 1 \
            and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id, None
    return None, None


def _comments(source: str) -> dict[int, str]:
    """Line number -> the comment on that line, without the '#'."""
    found = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass  # the cell parsed with ast, so this only loses comments
    return found


def _literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None  # an expression such as os.environ.get(...): no known value


# --- types ------------------------------------------------------------------

_FAIL = object()


def _kinds(hint: str | None, default) -> tuple[set[str], bool] | None:
    if hint:
        return _hint_kinds(hint)
    if default is None:
        return None
    name = type(default).__name__
    if name == "tuple":
        name = "list"
    return ({name}, False) if name in _SCALARS else None


def _hint_kinds(hint: str) -> tuple[set[str], bool] | None:
    text = hint.replace(" ", "")
    if text.startswith("Optional[") and text.endswith("]"):
        inner = _hint_kinds(text[len("Optional["):-1])
        return (inner[0], True) if inner else None
    parts = text.split("|")
    if text.startswith("Union[") and text.endswith("]"):
        parts = text[len("Union["):-1].split(",")
    nullable = any(p in ("None", "NoneType") for p in parts)
    kinds = {_base(p) for p in parts if p not in ("None", "NoneType")}
    if not kinds or None in kinds:
        return None  # a hint we do not know (Path, a class): accept anything
    return kinds, nullable


def _base(part: str) -> str | None:
    name = part.split("[", 1)[0].lower()  # list[int] -> list, Dict -> dict
    return name if name in _SCALARS else None


def _convert(kind: str, text: str):
    low = text.lower()
    if kind == "bool":
        return True if low in _TRUE else False if low in _FALSE else _FAIL
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        value = json.loads(text)  # lists and dicts: JSON, e.g. -p names '["a","b"]'
    except ValueError:
        return _FAIL
    return value if isinstance(value, _SCALARS[kind]) else _FAIL


def _type_error(param: Parameter, value) -> InputError:
    expected = param.hint or " or ".join(sorted(param.kinds[0]))
    return InputError(f"parameter {param.name!r} expects {expected}, got {value!r}",
                      name=param.name, expected=expected, value=value)


def _label(notebook) -> str:
    return str(notebook) if isinstance(notebook, (str, Path)) else "notebook"


def _nbformat():
    from ..errors import require
    return require("nbformat", "notebook")
