"""The ``deeper`` node folder: the questioner's prompt, lessons and settings.

Looked up like every node: the folders in ``$DEEPLOOP_NODES``, then
``./nodes``, then the ``nodes/`` folder beside the package. A drill still
runs without the folder (offline questioner, built-in settings); only a
model questioner needs its PROMPT.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..fileio import read_text
from ..lessons import lesson_keys
from ..nodes import node_search_path, read_settings

NODE_NAME = "deeper"
DEFAULTS = {"hard_cap": 20, "done_threshold": 0.9, "default_model": None, "deadline": 180.0,
            "fanout": 5, "fail_threshold": 3, "spin_limit": 3, "blocked_limit": 2}


@dataclass
class DeeperNode:
    path: Path | None
    settings: dict = field(default_factory=lambda: dict(DEFAULTS))

    def setting(self, key: str):
        return self.settings.get(key, DEFAULTS.get(key))

    @property
    def hard_cap(self) -> int:
        return int(self.setting("hard_cap"))

    def prompt(self) -> str:
        if self.path is None:
            raise InputError("a model questioner needs nodes/deeper/PROMPT.md, and no "
                             "deeper node folder was found (set DEEPLOOP_NODES)")
        return read_text(self.path / "PROMPT.md", "PROMPT.md of node deeper")

    def bans(self) -> str:
        if self.path is None or not (self.path / "BANS.md").exists():
            return ""
        return read_text(self.path / "BANS.md", "BANS.md of node deeper")

    def lessons(self) -> list[str]:
        return lesson_keys(self.bans())

    @property
    def improvements_path(self) -> Path | None:
        return None if self.path is None else self.path / "IMPROVEMENTS.md"


def load_deeper(path: Path | str | None = None) -> DeeperNode:
    """The deeper node at ``path``, or found on the search path, or defaults."""
    if path is None:
        path = next((p / NODE_NAME for p in node_search_path() if (p / NODE_NAME).is_dir()), None)
        if path is None:
            return DeeperNode(None)
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"deeper node folder not found: {path}")
    return DeeperNode(path, {**DEFAULTS, **_settings(path / "node.toml")})


def _settings(path: Path) -> dict:
    data = read_settings(path, NODE_NAME)
    for key in ("hard_cap", "fanout", "fail_threshold", "spin_limit", "blocked_limit"):
        value = data.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"{path}: {key} must be a positive whole number")
    deadline = data.get("deadline", 1)
    if not isinstance(deadline, (int, float)) or isinstance(deadline, bool) or deadline <= 0:
        raise InputError(f"{path}: deadline must be a positive number of seconds")
    return data
