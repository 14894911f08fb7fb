"""What questioners and answer sources hand back to a drill."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ModelError
from ..usage import Usage
from .tree import DEFAULT_TAG


class EmptyReply(ModelError):
    """A model answered with nothing usable; the drill retries once."""


@dataclass
class Question:
    text: str
    raw_chars: int = 0
    raw_lines: int = 1
    usage: Usage = field(default_factory=Usage)
    questioner: str = "offline"


@dataclass
class Reply:
    """One answer from a source, with where it came from and what it cost."""

    text: str
    source: str = "person"
    tag: str = DEFAULT_TAG
    usage: Usage = field(default_factory=Usage)
    line: int | None = None          # line number in an answers file
    blocked: bool = False            # a fanout round that could not answer
    fanout: object | None = None     # fanout.FanoutReport for fanout rounds


def numbered_chain(chain: list[str]) -> str:
    return "\n".join(f"{i}. {' '.join(claim.split())}" for i, claim in enumerate(chain, start=1))


def nonempty_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def first_question_line(text: str) -> str:
    """The first line that asks something, else the first non-empty line."""
    lines = nonempty_lines(text)
    return next((line for line in lines if "?" in line or "？" in line), lines[0] if lines else "")
