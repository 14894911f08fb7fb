"""Answerers for unattended drills: a file of answers, or a model.

A person answers through the drill directly (widget, terminal); these
answerers stand in for the person. Each returns a Reply, or ``None`` when it
has nothing left (an answers file that ran out: the drill pauses and can be
resumed). Fanout (several investigators) lives in fanout.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..fileio import read_text
from ..models import Model
from .answers import CATEGORIES_TEXT
from .replies import EmptyReply, Reply, nonempty_lines, numbered_chain

_KEYWORD = re.compile(r"^(bedrock|branch)\s*:", re.IGNORECASE)
ANSWER_SYSTEM = f"""You answer one question in a depth-first "why" interview that drills a
single claim down to bedrock. Reply with exactly one of:

- one line: the deeper reason behind the active claim, as a new claim (never a
  restatement of a claim already on the chain);
- BEDROCK:<category> — <one-line rationale>, when the active claim rests on
  something no further "why" can move. Categories: {CATEGORIES_TEXT};
- BRANCH:<claim>, to add a parallel cause beside the active claim.

No preamble, no markdown, nothing else."""


class Answerer(Protocol):
    source: str

    def answer(self, question: str, chain: list[str], *, round: int) -> Reply | None: ...


@dataclass
class ListAnswers:
    """Answers from a list (a script, a test, a notebook cell), one per round."""

    answers: list[str]
    start: int = 0          # how many answers were used by earlier drills
    source: str = "file"
    path: str | None = None
    position: int = field(init=False)

    def __post_init__(self):
        self.position = self.start

    def answer(self, question: str, chain: list[str], *, round: int) -> Reply | None:
        if self.position >= len(self.answers):
            return None
        self.position += 1
        return Reply(self.answers[self.position - 1], source=self.source, line=self.position)


def file_answers(path: str | Path, start: int = 0) -> ListAnswers:
    """``--answers FILE``, one answer a non-blank line: ``start`` answers are
    skipped (used before a resume)."""
    text = read_text(Path(path).expanduser(), "answers file")
    return ListAnswers(nonempty_lines(text), start=start,
                       path=str(Path(path).expanduser().resolve()))


@dataclass
class ModelAnswerer:
    """A model answering in place of a person (``--answerer SPEC``)."""

    model: Model
    source: str = "model"
    tag: str = "from-model"

    def prompt(self, question: str, chain: list[str]) -> str:
        return ("## ANCESTOR CHAIN (root → active claim)\n" + numbered_chain(chain)
                + f"\n\n## QUESTION\n{question.strip()}\n")

    def answer(self, question: str, chain: list[str], *, round: int) -> Reply | None:
        completion = self.model.complete(self.prompt(question, chain), system=ANSWER_SYSTEM,
                                         node="deeper", round=round)
        return Reply(model_answer_text(completion.text, self.model.spec), source=self.source,
                     tag=self.tag, usage=completion.usage)


def model_answer_text(text: str, spec: str) -> str:
    """A model's answer: a keyword line with what follows it, else its first line.

    Models add preambles; a claim is one line, while a bedrock's rationale may
    run over several.
    """
    lines = nonempty_lines(text)
    if not lines:
        raise EmptyReply(f"answerer {spec} returned nothing", spec=spec)
    for index, line in enumerate(lines):
        if _KEYWORD.match(line) or line.upper() == "STOP":
            return "\n".join(lines[index:])
    return lines[0]
