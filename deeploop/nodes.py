"""Node folders: ``nodes/<name>/`` with PROMPT.md, BANS.md, a judge, node.toml.

Nodes are looked up in the folders listed in ``$DEEPLOOP_NODES`` (separated
by ``:``), then ``./nodes``, then the ``nodes/`` folder shipped beside the
package, so a notebook running in ``notebooks/`` finds them too.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, NotFound
from .fileio import read_text
from .lessons import lesson_keys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DEFAULT_HARD_CAP = 12
DEFAULT_DONE_THRESHOLD = 0.9


def node_search_path() -> list[Path]:
    paths = [Path(p) for p in os.environ.get("DEEPLOOP_NODES", "").split(os.pathsep) if p]
    paths.append(Path("nodes"))
    shipped = Path(__file__).resolve().parent.parent / "nodes"
    if shipped.is_dir():
        paths.append(shipped)
    return paths


@dataclass
class Node:
    name: str
    path: Path
    hard_cap: int = DEFAULT_HARD_CAP
    done_threshold: float = DEFAULT_DONE_THRESHOLD
    default_model: str | None = None
    settings: dict = field(default_factory=dict)

    @property
    def prompt_path(self) -> Path:
        return self.path / "PROMPT.md"

    @property
    def bans_path(self) -> Path:
        return self.path / "BANS.md"

    def prompt(self) -> str:
        return read_text(self.prompt_path, f"PROMPT.md of node {self.name}")

    def bans(self) -> str:
        """The lessons file's text; a missing BANS.md means no lessons yet."""
        if not self.bans_path.exists():
            return ""
        return read_text(self.bans_path, f"BANS.md of node {self.name}")

    def lessons(self) -> list[str]:
        """Lesson keys in force, in the order they appear in BANS.md."""
        return lesson_keys(self.bans())


def load_node(path: Path | str, name: str | None = None) -> Node:
    """Load a node folder, refusing one without PROMPT.md or a judge."""
    path = Path(path)
    name = name or path.name
    if not (path / "PROMPT.md").is_file():
        raise InputError(f"node {name} has no PROMPT.md ({path})")
    if not any((path / j).is_file() for j in ("judge.py", "judge.sh")):
        raise InputError(f"node {name} has no judge (judge.py or judge.sh in {path})")
    settings = read_settings(path / "node.toml", name)
    return Node(
        name=name, path=path,
        hard_cap=_positive(settings.get("hard_cap", DEFAULT_HARD_CAP), int, "hard_cap", name),
        done_threshold=_threshold(settings.get("done_threshold", DEFAULT_DONE_THRESHOLD), name),
        default_model=settings.get("default_model"),
        settings=settings,
    )


def find_node(name: str) -> Node:
    if not name or not _NODE_NAME.match(name):
        raise InputError(f"invalid node name {name!r}")
    search = node_search_path()
    for folder in search:
        if (folder / name).is_dir():
            return load_node(folder / name, name)
    looked = ", ".join(str(p) for p in search)
    raise NotFound(f"unknown node {name!r} (looked in {looked})")


def read_settings(path: Path, name: str) -> dict:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"node {name}: node.toml is not valid TOML ({exc})") from None


def _positive(value, kind, key: str, name: str):
    if not isinstance(value, kind) or isinstance(value, bool) or value <= 0:
        raise InputError(f"node {name}: {key} in node.toml must be a positive {kind.__name__}")
    return value


def _threshold(value, name: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise InputError(f"node {name}: done_threshold in node.toml must be between 0 and 1")
    return float(value)
