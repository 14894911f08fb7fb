"""An external agent CLI does the change: ``command:<cmd>`` (e.g. ``claude -p``).

The command runs in the workspace with the prompt on stdin and may edit
files there. In an experiment loop with a sandbox it runs inside it
(``sandbox.py``): the workspace writable (commits are undone), the package and
its data read-only with the validation bytes hidden, nothing else of the run
folder; it keeps the network (its model API needs it) and its environment.
Afterwards only its change to train.py is kept: other tracked files are restored, files it created are removed, and commits it made are
undone (the loop makes its own commit). Its last ``DESCRIPTION:`` line is
the description; when it gives none, the knob changes are described.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError, ModelError
from ...usage import Usage
from ...models.command import CommandModel
from ..knobs import describe, diff_knobs
from ..workspace import TRAIN_FILE, TrainingWorkspace
from .base import Proposal, ProposalContext, failed
from .llm import SYSTEM, build_prompt, tested_hypothesis

_DESCRIPTION = re.compile(r"^\s*\**DESCRIPTION\**\s*:\s*(.+?)\s*$", re.M | re.I)


@dataclass
class CommandProposer:
    command: str
    timeout: float = 1800.0
    sandbox: object = None    # set by the loop: sandbox.Sandbox
    data_dir: Path | None = None

    def __post_init__(self):
        self.model = CommandModel(self.command, timeout=self.timeout)

    @property
    def spec(self) -> str:
        return f"command:{self.command}"

    def propose(self, context: ProposalContext) -> Proposal:
        ws = TrainingWorkspace(Path(context.workspace))
        base, before = ws.head(), ws.untracked()
        if self.sandbox is not None and self.sandbox.active:
            from ..sandbox import Walls
            # .git writable: an agent may commit (its commits are undone below)
            walls = Walls(ws.path, self.data_dir, writable=True, network=True, protect=())
            self.model.wrap = lambda argv: self.sandbox.wrap(argv, walls)
        try:
            completion = self.model.complete(build_prompt(context, agent=True), system=SYSTEM,
                                              cwd=str(ws.path))
            output, usage = completion.text, completion.usage
        except ModelError as exc:
            output, usage, error = "", Usage(calls=1), str(exc)
        else:
            error = None
        new_source, discarded = _collect(ws, base, before)
        if error:
            return failed(error, usage, discarded=discarded)
        if new_source is None or new_source == context.train_py:
            return failed("the command made no change to train.py", usage, discarded=discarded)
        return Proposal(new_source, _description(output, context.train_py, new_source),
                        hypothesis=tested_hypothesis(output, context), usage=usage,
                        notes={"discarded": discarded} if discarded else {})


def _collect(ws: TrainingWorkspace, base: str, untracked_before: set[str]):
    """Take train.py as the agent left it; put everything else back."""
    path = ws.path / TRAIN_FILE
    new_source = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    discarded = []
    if ws.head() != base:  # the agent committed: keep its train.py, drop the commits
        committed = ws.git("diff", "--name-only", base, "HEAD").split()
        discarded += ["commits"] + [p for p in committed if p != TRAIN_FILE]
        ws.git("reset", "-q", "--mixed", base)  # its work stays in the files for now
    others = [p for p in ws.dirty_paths() if p != TRAIN_FILE]
    ws.restore(others)
    discarded += [p for p in others if p not in discarded]
    for name in sorted(ws.untracked() - untracked_before):
        try:
            os.remove(ws.path / name)
            discarded.append(name)
        except OSError:
            pass
    ws.restore([TRAIN_FILE])  # the loop writes and commits the new version itself
    return new_source, discarded


def _description(output: str, old: str, new: str) -> str:
    found = _DESCRIPTION.findall(output)
    if found:
        return found[-1]
    try:
        changes = diff_knobs(old, new)
    except InputError:  # a train.py that no longer parses has no knobs to compare
        changes = []
    return describe(changes) if changes else "edit by external agent"
