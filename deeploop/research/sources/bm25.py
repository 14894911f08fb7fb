"""Okapi BM25 over passages, in pure Python.

Each passage arrives as its term counts. Postings store, per term, the
passage ids and the term's length-normalised weight in each passage
(``tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))``), computed once
at build time, so a query is one multiply-add per posting of its terms. The
idf is Lucene's non-negative form, ``ln(1 + (N - df + 0.5) / (df + 0.5))``,
so a term found in most passages still counts a little instead of
subtracting.
"""
from __future__ import annotations

import heapq
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

K1 = 1.2
B = 0.75


@dataclass
class Bm25Index:
    size: int = 0
    postings: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)


def build_index(counts: Sequence[dict[str, int]], k1: float = K1, b: float = B) -> Bm25Index:
    """An index over passages given as term counts; ids are list positions."""
    lengths = [sum(c.values()) for c in counts]
    avg = (sum(lengths) / len(lengths)) if lengths else 0.0
    avg = avg or 1.0
    postings: dict[str, tuple[list[int], list[float]]] = {}
    for pid, (terms, length) in enumerate(zip(counts, lengths)):
        norm = k1 * (1.0 - b + b * length / avg)
        for term, tf in terms.items():
            entry = postings.get(term)
            if entry is None:
                entry = postings[term] = ([], [])
            entry[0].append(pid)
            entry[1].append(tf * (k1 + 1.0) / (tf + norm))
    n = len(counts)
    idf = {term: math.log(1.0 + (n - len(ids) + 0.5) / (len(ids) + 0.5))
           for term, (ids, _) in postings.items()}
    return Bm25Index(n, postings, idf)


def score(index: Bm25Index, terms: Iterable[str]) -> dict[int, float]:
    """BM25 score of every passage that holds at least one query term.
    A term repeated in the query counts once per repeat."""
    scores: dict[int, float] = {}
    get = scores.get
    for term, repeat in Counter(terms).items():
        entry = index.postings.get(term)
        if entry is None:
            continue
        weight = index.idf[term] * repeat
        for pid, impact in zip(*entry):
            scores[pid] = get(pid, 0.0) + weight * impact
    return scores


def top_k(scores: dict[int, float], k: int) -> list[tuple[int, float]]:
    """The k best (id, score) pairs, best first; ties go to the lower id so
    results are the same on every run."""
    best = heapq.nsmallest(k, ((-value, pid) for pid, value in scores.items()))
    return [(pid, -neg) for neg, pid in best]
