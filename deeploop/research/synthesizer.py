"""Synthesisers by spec: ``offline`` (local retrieval, extractive) and
``anthropic:<model>`` (web search and Claude's writing, see ``web``).

A synthesiser turns one question into an ``Attempt``: the report block it
proposes, the index row's fields, and every target retrieval returned this
iteration (what the judge may accept as cited). The attempt is the decision
point of an iteration and is recorded whole in the ``research_synthesised``
event, so a killed run finishes the iteration from the journal without
searching (or paying) again.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Protocol

from ..errors import InputError
from ..models.anthropic import AnthropicModel
from ..registry import Registry
from ..usage import Usage
from .extractive import synthesise
from .report_doc import section_for


@dataclass
class Attempt:
    question: str
    block: str                 # markdown for report.md, "### <question>" first
    section: str               # the report.md section it belongs in
    summary: str
    sources: list[str]         # targets the block cites
    confidence: str            # as the synthesiser claims it (checked later)
    status: str
    gaps: list[str]
    retrieved: list[str]       # every target retrieval returned this iteration
    labels: dict[str, str] = field(default_factory=dict)  # target -> name for Sources
    search_count: int = 0
    usage: Usage = field(default_factory=Usage)
    synthesizer: str = "offline"
    note: str = ""             # why the attempt is empty, when it is

    def to_json(self) -> dict:
        data = asdict(self)
        data["usage"] = self.usage.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Attempt":
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["usage"] = Usage.from_json(data.get("usage"))
        return cls(**values)


@dataclass
class Context:
    """What a synthesiser knows besides the question."""
    topic: str
    searches: int = 2               # queries per question (the strategy's knob)
    constitution: str = ""          # nodes/research/PROMPT.md
    lessons: str = ""               # nodes/research/BANS.md
    round: int = 0


class Synthesizer(Protocol):
    spec: str

    def research(self, question: str, context: Context) -> Attempt: ...


def queries(question: str, topic: str, searches: int) -> list[tuple[str, int, int]]:
    """(query, k, max passages per document) for each search, in order. The
    second asks for one passage per document, so two sources appear when the
    collection has them; later ones widen the net."""
    plan = [(question, 5, 2), (question, 5, 1), (f"{question} {topic}", 5, 1), (question, 10, 1)]
    return plan[:max(1, searches)]


@dataclass
class OfflineSynthesizer:
    """Retrieval over a local source, then the extractive ``synthesise``."""
    source: object  # a research.sources.Source
    spec: str = "offline"

    def research(self, question: str, context: Context) -> Attempt:
        passages, seen = [], set()
        plan = queries(question, context.topic, context.searches)
        for query, k, per_doc in plan:
            for passage in self.source.search(query, k=k, max_per_doc=per_doc):
                key = (passage.target, passage.text)
                if key not in seen:
                    seen.add(key)
                    passages.append(passage)
        finding = synthesise(question, passages)
        labels = {p.target: p.label for p in passages}
        return Attempt(question, finding.report_block(), section_for(question), finding.summary,
                       finding.sources, finding.confidence, finding.status, finding.gaps,
                       retrieved=list(labels), labels=labels, search_count=len(plan),
                       synthesizer=self.spec,
                       note="" if finding.sentences else "no passage speaks to the question")


# a factory is ``factory(arg, source_factory, **options)``; ``source_factory()``
# loads the run's document source (only offline synthesisers need it)
_SYNTHESIZERS: Registry[Callable[..., Synthesizer]] = Registry(
    "synthesizer", lambda name: name if name == "offline" else f"{name}:<model>")
register = _SYNTHESIZERS.register


def get_synthesizer(spec: str, source_factory: Callable[[], object], **options) -> Synthesizer:
    name, _, arg = (spec or "offline").partition(":")
    return _SYNTHESIZERS.get(name, spec)(arg.strip(), source_factory, **options)


def _offline(arg: str, source_factory, **options) -> Synthesizer:
    if arg:
        raise InputError(f"synthesizer 'offline' takes no argument, got 'offline:{arg}'")
    return OfflineSynthesizer(source_factory())


def _anthropic(arg: str, source_factory, *, client=None, max_uses: int = 5, **options):
    if not arg:
        raise InputError("synthesizer anthropic:<model> needs a model, "
                         "e.g. anthropic:claude-sonnet-4-6")
    from .web import WebSynthesizer  # here, not at the top: web imports Attempt from this module
    return WebSynthesizer(AnthropicModel(arg, client=client), max_uses=max_uses)


register("offline", _offline)
register("anthropic", _anthropic)
