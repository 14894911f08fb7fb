"""Deterministic mock models, for tests and for demonstrating the harness.

``mock:commit-msg`` is the reference node's "student who only obeys written
lessons": it reads the lessons section of its prompt and writes a commit
message that obeys exactly the commit-msg rules whose keys appear there,
breaking every other rule it can. It is instrumentation, not intelligence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import InputError
from ..lessons import lesson_keys
from ..registry import Registry
from ..usage import Usage
from .base import Completion, Model

LESSONS_HEADING = "## Accumulated lessons (BANS.md)"

_MOCKS: Registry[Callable[[], Model]] = Registry("mock model", lambda name: f"mock:{name}")
register_mock = _MOCKS.register


def get_mock(name: str) -> Model:
    if name not in _MOCKS:
        raise InputError(f"unknown mock model 'mock:{name}': known mocks are {_MOCKS.listing()}")
    return _MOCKS.get(name, f"mock:{name}")()


def lessons_in_prompt(prompt: str) -> set[str]:
    """The lesson keys listed in a loop prompt's lessons section."""
    start = prompt.find(LESSONS_HEADING)
    if start < 0:
        return set()
    section = prompt[start + len(LESSONS_HEADING):]
    end = section.find("\n## ")
    return set(lesson_keys(section if end < 0 else section[:end]))


def commit_message(lessons: set[str]) -> str:
    conv, short = "no-conv-format" in lessons, "length" in lessons
    if conv:
        verb = "add" if "verb-tense" in lessons else "Added"
        body = ("auth middleware to /api/* routes" if short else
                "authentication middleware to all the various /api/* routes for security")
        message = f"feat(api): {verb} {body}"
    elif short:
        message = "Added auth middleware to /api/* routes for security"
    else:
        message = ("This commit adds authentication middleware to all the /api/* routes "
                   "in the application for security reasons")
    return message if "trailing-period" in lessons else message + "."


@dataclass
class CommitMsgMock:
    spec: str = "mock:commit-msg"

    def complete(self, prompt: str, **kwargs) -> Completion:
        return Completion(commit_message(lessons_in_prompt(prompt)), Usage(calls=1))


register_mock("commit-msg", CommitMsgMock)
