"""What a source returns: passages that know how to be cited.

``Passage.target`` is the citation target: the document path relative to
the collection, URL-quoted so it is a valid Markdown link destination, plus
``#anchor`` when the section has one (``notes/asyncio.md#task-groups``,
``papers/trio.pdf#page=3``). ``Passage.citation()`` renders the research
constitution's form, ``([label](target))``. The research judge compares
cited targets with retrieved ones, so the target must be stable: it depends
only on the file path and the section, never on the score or the query.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

_LABEL_UNSAFE = str.maketrans({"[": "(", "]": ")", "\n": " "})


@dataclass(frozen=True)
class Passage:
    doc: str          # path relative to the collection, '/'-separated
    section: str      # nearest heading, 'page N' for PDFs, '' before any heading
    text: str
    score: float
    anchor: str = ""  # heading slug or 'page=N'

    @property
    def target(self) -> str:
        path = quote(self.doc, safe="/._-~")
        return f"{path}#{self.anchor}" if self.anchor else path

    @property
    def label(self) -> str:
        label = f"{self.doc} § {self.section}" if self.section else self.doc
        return label.translate(_LABEL_UNSAFE)

    def citation(self) -> str:
        """``([doc § section](target))``: the form report.md uses."""
        return f"([{self.label}]({self.target}))"


@dataclass(frozen=True)
class Skipped:
    """A file a source could not use, and why (one line a person understands)."""
    doc: str
    reason: str

    def __str__(self) -> str:
        return f"{self.doc}: {self.reason}"


class Source(Protocol):
    """Anything research can retrieve from; built by ``get_source(spec)``."""

    spec: str

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The k passages that best match ``query``, best first."""

    def skipped(self) -> list[Skipped]:
        """Files left out of the index, with reasons."""
