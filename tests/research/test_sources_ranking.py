"""Chunking into cited passages, the tokenizer and BM25 ranking."""
from __future__ import annotations

import pytest

from deeploop.research.sources.cache import Entry
from deeploop.research.sources.chunk import chunk_document, split_section
from deeploop.research.sources.document import Document, Section
from deeploop.research.sources.index import PassageIndex
from deeploop.research.sources.tokens import stem, tokenize


def words(n: int, word: str = "w") -> str:
    return " ".join(f"{word}{i}" for i in range(n))


def test_short_paragraphs_share_a_passage_long_ones_are_cut():
    text = "\n\n".join([words(10), words(10), words(400)])
    passages = split_section(text, max_words=100)
    sizes = [len(p.split()) for p in passages]
    assert sizes == [20, 100, 100, 100, 100]
    assert all(size <= 100 for size in sizes)


def test_a_short_tail_is_folded_into_the_previous_passage():
    passages = split_section(words(105), max_words=100)
    assert [len(p.split()) for p in passages] == [105]


def test_passages_never_cross_sections_and_keep_their_section():
    doc = Document("t", [Section("Alpha", words(30, "a"), "alpha"),
                         Section("page 2", words(250, "b"), "page=2")])
    chunks = chunk_document(doc, max_words=100)
    assert [(c.section, c.anchor) for c in chunks] == [
        ("Alpha", "alpha"), ("page 2", "page=2"), ("page 2", "page=2"), ("page 2", "page=2")]
    assert all(set(w[0] for w in c.text.split()) == {"a" if c.section == "Alpha" else "b"}
               for c in chunks)


def test_tokenize_lowercases_drops_stopwords_and_splits_identifiers():
    assert tokenize("The Event_Loop is RUNNING in a thread, x 3") == ["event", "loop", "run",
                                                                       "thread", "3"]


@pytest.mark.parametrize("forms", [("parse", "parses", "parsed", "parsing"),
                                   ("queue", "queues"), ("policy", "policies"),
                                   ("run", "running"), ("install", "installed")])
def test_stemmer_conflates_inflections(forms):
    assert len({stem(word) for word in forms}) == 1


def test_stemmer_keeps_short_and_special_words():
    assert stem("class") == "class" and stem("status") == "status" and stem("bus") == "bus"


def index_of(*texts):
    """An in-memory index of one passage per text; documents are named by
    position ("0", "1", ...)."""
    index = PassageIndex(None, {"test": 1})
    entries = {str(i): Entry(0, 0, "", 0, "", [["", "", text, " ".join(tokenize(text))]])
               for i, text in enumerate(texts)}
    index.apply(entries, list(entries), [], [])
    return index


def scores(index, query, k=10) -> dict[int, float]:
    return {int(p.doc): p.score for p in index.search(tokenize(query), k)}


def ranking(index, query, k=10):
    return [int(p.doc) for p in index.search(tokenize(query), k)]


def test_rare_terms_outweigh_common_ones():
    index = index_of("python asyncio tasks", "python threads", "python processes", "python gil")
    assert ranking(index, "python asyncio")[0] == 0


def test_more_occurrences_rank_higher_with_saturation():
    index = index_of("cancel scope", "cancel cancel cancel scope", "nothing relevant here")
    found = scores(index, "cancel")
    assert found[1] > found[0] > 0 and 2 not in found
    assert found[1] < 3 * found[0]  # k1 saturates term frequency


def test_shorter_passages_win_at_equal_term_frequency():
    index = index_of("nursery " + words(5), "nursery " + words(80), "other")
    assert ranking(index, "nursery") == [0, 1]


def test_term_in_every_passage_still_scores_positive():
    index = index_of("loop alpha", "loop beta")
    assert all(value > 0 for value in scores(index, "loop").values())


def test_a_repeated_query_term_counts_more():
    index = index_of("alpha beta", "alpha gamma")
    assert ranking(index, "gamma beta beta") == [0, 1]


def test_empty_and_stopword_queries_match_nothing():
    index = index_of("alpha", "beta")
    assert scores(index, "") == {} and scores(index, "the of and") == {}


def test_ties_break_by_passage_order_for_stable_results():
    index = index_of("same text", "same text", "same text")
    assert ranking(index, "text", k=2) == [0, 1]


def test_max_per_doc_looks_past_the_first_hits():
    index = PassageIndex(None, {"test": 1})
    chunks = [["", "", "nursery", "nursery"]] * 30
    entries = {"many.md": Entry(0, 0, "", 0, "", chunks),
               "one.md": Entry(0, 0, "", 0, "", [["", "", "nursery x", "nursery x"]])}
    index.apply(entries, list(entries), [], [])
    assert [p.doc for p in index.search(["nursery"], 2, max_per_doc=1)] == ["many.md", "one.md"]
