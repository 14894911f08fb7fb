"""Shared pieces of the research-loop tests: a small document collection,
a copy of the research node, a scripted synthesiser and run helpers."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deeploop.events import read_events
from deeploop.usage import Usage
from deeploop.research.knowledge import read_index
from deeploop.research.opening import execute, prepare
from deeploop.research.synthesizer import Attempt
from tests.helpers import REPO

DOCS = {
    "trio.md": "# Cancel scopes\n\nA cancel scope cancels every task inside it when its "
               "deadline expires. Cancel scopes nest, and the innermost expired deadline wins."
               "\n\n# Nurseries\n\nA nursery waits for all of its child tasks before it exits. "
               "The `open_nursery` function creates one and runs child tasks concurrently.\n",
    "anyio.md": "# Cancellation\n\nIn AnyIO a cancel scope cancels every task inside it once "
                "the deadline expires. Task groups wrap cancel scopes.\n\n# Task groups\n\n"
                "A task group waits for all of its child tasks before it exits, like a "
                "nursery waits for child tasks.\n",
    "garden.md": "# Watering\n\nThe garden needs water every evening in summer.\n",
    "notes/asyncio.txt": "Asyncio tasks are cancelled with Task.cancel, which raises "
                         "CancelledError inside the coroutine at its next await.\n",
}
SEEDS = ["What happens when a cancel scope deadline expires?",
         "How do nurseries wait for child tasks?",
         "Why does the garden need water?"]


def write_collection(folder: Path) -> Path:
    for name, text in DOCS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@pytest.fixture
def collection(tmp_path) -> Path:
    return write_collection(tmp_path / "docs")


@pytest.fixture
def research_node(nodes_dir) -> Path:
    """A private copy of nodes/research with an empty BANS.md."""
    dest = nodes_dir / "research"
    shutil.copytree(REPO / "nodes" / "research", dest,
                    ignore=shutil.ignore_patterns(".*", "__pycache__"))
    (dest / "BANS.md").write_text("")
    return dest


def start(tag: str, collection: Path, entries: int = 3, **options):
    options.setdefault("topic", "structured concurrency")
    options.setdefault("questions", SEEDS)
    return prepare(tag, sources=f"local:{collection}", entries=entries, **options)


def run(prepared, **kwargs) -> dict:
    return execute(prepared, progress=False, report=False, **kwargs)


def events(prepared, kind: str | None = None) -> list[dict]:
    found = read_events(prepared.run.events_path).events
    return [e for e in found if kind is None or e["type"] == kind]


def entries(prepared) -> list:
    return read_index(prepared.run.index_path).entries


def git(prepared, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=prepared.run.workspace_dir, capture_output=True,
                          text=True, check=True).stdout


@dataclass
class ScriptedSynth:
    """Answers every question the same cited way from one retrieved target,
    charging ``usd`` per call; ``fail_on`` raises at that call (1-based)."""
    usd: float = 0.0
    fail_on: int | None = None
    failure: BaseException | None = None
    calls: list[str] = field(default_factory=list)
    spec: str = "scripted"

    def research(self, question, context) -> Attempt:
        self.calls.append(question)
        if self.fail_on == len(self.calls):
            raise self.failure or RuntimeError("synthesiser broke")
        target = f"doc{len(self.calls)}.md"
        block = f"### {question}\n\nIt is documented ([doc]({target}))."
        return Attempt(question, block, "The Problem Space", "It is documented.", [target],
                       "MEDIUM", "answered", [f"Follow-up {len(self.calls)}?"], [target],
                       {target: "doc"}, search_count=1, usage=Usage(usd=self.usd, calls=1),
                       synthesizer=self.spec)


class Killed(BaseException):
    """A hard kill: no except clause of the loop catches it, so no clean-up runs."""
