"""The offline synthesiser: an extractive answer, every sentence cited.

It composes the answer from retrieved passages only (nothing is written that
a source does not say), keeps the sentences that speak to the question, and
measures agreement between independent sources for the confidence:

- HIGH: at least two documents say overlapping things about the question;
- MEDIUM: one authoritative source (the best-ranked document gives at least
  two relevant sentences);
- LOW: anything thinner.

Status is ``conflicting`` when two documents overlap but one negates what
the other asserts, ``partial`` when the answer is LOW or a single sentence,
``answered`` otherwise.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .report_doc import LOW_FLAG
from .sources.tokens import tokenize

MAX_SENTENCES = 6
MAX_PER_DOC = 3
MAX_CHARS = 400
AGREEMENT = 0.2  # Jaccard overlap of terms beyond the question's own
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(])")
_NEGATION = re.compile(r"\b(not|never|no|cannot|can't|doesn't|don't|isn't|aren't|without)\b",
                       re.I)
_IDENTIFIER = re.compile(r"`([^`]{3,40})`|\b([A-Z][a-z]+[A-Z]\w+|[a-z]+_[a-z_]+|[a-z]+\.[a-z_]+)\b")


@dataclass
class Sentence:
    text: str
    passage: object  # a sources.Passage: doc, section, target, citation()
    terms: frozenset
    score: float
    also: list = field(default_factory=list)  # passages of other documents saying the same

    def citations(self) -> str:
        return " ".join(p.citation() for p in [self.passage, *self.also])


@dataclass
class Finding:
    question: str
    sentences: list[Sentence]
    confidence: str
    status: str
    gaps: list[str] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(p.target for s in self.sentences for p in [s.passage, *s.also]))

    @property
    def summary(self) -> str:
        if not self.sentences:
            return "No source in the collection answers this question."
        first = self.sentences[0].text
        return (first if len(first) <= 280 else first[:277] + "...") + \
            f" ({len(self.sources)} source{'s' if len(self.sources) != 1 else ''})"

    def report_block(self) -> str:
        """The markdown added to report.md: heading, cited sentences, LOW flag."""
        lines = [f"### {self.question}", ""]
        if not self.sentences:
            lines.append(f"{LOW_FLAG}")
            return "\n".join(lines)
        lines.append(" ".join(f"{_strip_end(s.text)} {s.citations()}." for s in self.sentences))
        if self.confidence == "LOW":
            lines += ["", LOW_FLAG]
        if self.status == "conflicting":
            lines += ["", "> Sources disagree on this question; see the cited passages."]
        return "\n".join(lines)


def _strip_end(text: str) -> str:
    return text.rstrip().rstrip(".")


def split_sentences(text: str) -> list[str]:
    """Sentences of 4 words or more and at most MAX_CHARS (long runs are code)."""
    flat = " ".join(text.split())
    return [s.strip() for s in _SENTENCE.split(flat)
            if len(s.split()) >= 4 and len(s) <= MAX_CHARS]


# Words of the follow-up frame "What is X used for?": matching them would let
# any sentence saying "used" answer a question about X.
_FRAME = frozenset(tokenize("used uses using use"))


def relevant_sentences(question: str, passages: list) -> list[Sentence]:
    """Sentences sharing terms with the question, best first. A near-duplicate
    is left out; when another document says it, that document is kept as
    corroboration (``also``) of the sentence already found."""
    wanted = set(tokenize(question)) - _FRAME or set(tokenize(question))
    need = 2 if len(wanted) >= 3 else 1
    found: list[Sentence] = []
    for rank, passage in enumerate(passages):
        for text in split_sentences(passage.text):
            terms = frozenset(tokenize(text))
            hits = len(terms & wanted)
            if hits < need:
                continue
            twin = next((s for s in found if _jaccard(terms, s.terms) > 0.7), None)
            if twin is None:
                found.append(Sentence(text, passage, terms, hits + 1.0 / (1 + rank)))
            elif passage.doc not in {p.doc for p in [twin.passage, *twin.also]}:
                twin.also.append(passage)
    return sorted(found, key=lambda s: -s.score)


def select(sentences: list[Sentence], limit: int = MAX_SENTENCES) -> list[Sentence]:
    chosen, per_doc = [], Counter()
    for sentence in sentences:
        if per_doc[sentence.passage.doc] < MAX_PER_DOC:
            chosen.append(sentence)
            per_doc[sentence.passage.doc] += 1
        if len(chosen) == limit:
            break
    return chosen


def agreement(sentences: list[Sentence], question: str) -> tuple[set[str], bool]:
    """Documents whose sentences overlap another document's, and any conflict."""
    asked = set(tokenize(question))
    agreeing, conflict = set(), False
    for sentence in sentences:
        if sentence.also:
            agreeing |= {p.doc for p in [sentence.passage, *sentence.also]}
    for i, a in enumerate(sentences):
        for b in sentences[i + 1:]:
            if a.passage.doc == b.passage.doc:
                continue
            if _jaccard(a.terms - asked, b.terms - asked) >= AGREEMENT:
                agreeing |= {a.passage.doc, b.passage.doc}
                if bool(_NEGATION.search(a.text)) != bool(_NEGATION.search(b.text)):
                    conflict = True
    return agreeing, conflict


def confidence_of(sentences: list[Sentence], agreeing: set[str]) -> str:
    if len(agreeing) >= 2:
        return "HIGH"
    top = sentences[0].passage.doc if sentences else None
    if sum(s.passage.doc == top for s in sentences) >= 2:
        return "MEDIUM"
    return "LOW"


def follow_up_questions(question: str, passages: list, limit: int = 3) -> list[str]:
    """Named things the retrieved passages mention that the question did not ask about."""
    asked = set(tokenize(question))
    seen, found = set(), []
    for passage in passages:
        for match in _IDENTIFIER.finditer(passage.text):
            name = (match.group(1) or match.group(2)).split("(")[0].strip()
            key = name.lower()
            if not _looks_like_api(name) or key in seen or set(tokenize(name)) <= asked:
                continue
            seen.add(key)
            found.append(f"What is {name} used for?")
            if len(found) == limit:
                return found
    return found


def _looks_like_api(name: str) -> bool:
    """A dotted, snake_case or CamelCase name: worth a question of its own."""
    return " " not in name and ("." in name.strip(".") or "_" in name.strip("_")
                                or any(c.isupper() for c in name[1:]))


def synthesise(question: str, passages: list) -> Finding:
    chosen = select(relevant_sentences(question, passages))
    agreeing, conflict = agreement(chosen, question)
    confidence = confidence_of(chosen, agreeing)
    if conflict:
        status = "conflicting"
    elif confidence == "LOW" or len(chosen) < 2:
        status = "partial"
    else:
        status = "answered"
    return Finding(question, chosen, confidence, status,
                   follow_up_questions(question, passages[:3]))


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0
