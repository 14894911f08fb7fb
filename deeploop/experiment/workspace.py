"""The experiment workspace: a git repo on branch ``deeploop/<tag>`` holding
``train.py`` (the only file experiments change) and ``program.md`` (the
strategy). Each experiment is one commit; a discard is ``git reset --hard``
to the commit it started from, so the branch tip is always the best kept
version. The model train.py saves is never content.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..workspace import Workspace
from .evaluate import MODEL_FILE

TRAIN_FILE = "train.py"
PROGRAM_FILE = "program.md"
BRANCH_PREFIX = "deeploop/"
ARTIFACTS = (f"/{MODEL_FILE}", f"/{MODEL_FILE}.tmp")  # the model train.py saves (and its temp)


class TrainingWorkspace(Workspace):
    main_file = TRAIN_FILE
    ignored = (*Workspace.ignored, *ARTIFACTS)

    @classmethod
    def create(cls, path: Path | str, tag: str, files: dict[str, str], *,
               branch: str | None = None,
               message: str = "baseline: deeploop experiment template") -> "TrainingWorkspace":
        return super().create(path, tag, files, branch=branch or BRANCH_PREFIX + tag,
                              message=message)


def open_workspace(path: Path | str) -> TrainingWorkspace:
    ws = TrainingWorkspace(Path(path))
    if not (ws.path / ".git").exists():
        raise InputError(f"not an experiment workspace (no git repo): {ws.path}")
    if not (ws.path / TRAIN_FILE).is_file():
        raise InputError(f"experiment workspace has no {TRAIN_FILE}: {ws.path}")
    return ws
