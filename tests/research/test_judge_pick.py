import random

from deeploop.research.judge import judge_iteration
from deeploop.research.knowledge import Entry
from deeploop.research.pick import pick_question, questions_in
from deeploop.research.report_doc import LOW_FLAG, add_sources, append_to_section, new_report


def row(q, status="answered", conf="HIGH", gaps=()):
    return Entry(q, "s", ["a.md"], conf, list(gaps), status, "v1", 1)


BASE = new_report("T")


def test_a_clean_iteration_scores_one():
    after = append_to_section(BASE, "The Problem Space",
                              "### What is X?\n\nX is Y ([a.md](a.md#s)). It is Z ([b](b.md)).")
    after = add_sources(after, [("a.md", "a.md#s")])
    verdict = judge_iteration(BASE, after, [], [row("What is X?")], {"a.md#s", "b.md"})
    assert verdict.score == 1.0 and verdict.violations == []


def test_each_rule_fires():
    after = append_to_section(BASE, "The Problem Space",
                              "X is Y ([a](a.md)). Uncited claim here.\n- bullet claim")
    v = judge_iteration(BASE, after, [row("Q0?", status="partial")],
                        [row("Q0?", status="partial"), row("Q1?", conf="LOW")], {"b.md"})
    assert set(v.violations) == {"no-citation", "unflagged-low-confidence", "question-hopping",
                                 "fabricated-source"}
    assert v.score == 0.2
    v = judge_iteration(BASE, after, [], [], {"a.md"})
    assert "unrecorded-question" in v.violations


def test_moving_on_after_a_retry_is_no_hop():
    partial = row("Q0?", status="partial")
    hop = judge_iteration(BASE, BASE, [partial], [partial, row("Q1?")], set())
    assert hop.violations == ["question-hopping"]
    retried = judge_iteration(BASE, BASE, [partial, partial], [partial, partial, row("Q1?")],
                              set())
    assert retried.violations == []


def test_low_flag_satisfies_the_rule():
    after = append_to_section(BASE, "The Problem Space", f"X ([a](a.md)).\n\n{LOW_FLAG}")
    v = judge_iteration(BASE, after, [], [row("Q?", conf="LOW")], {"a.md"})
    assert v.violations == []


def test_pick_order():
    rng = random.Random(0)
    seeds = ["What is A?", "What is B?"]
    assert pick_question(seeds, [], [], rng).question == "What is A?"
    entries = [row("what is a"), row("What is B?", status="partial")]
    assert pick_question(seeds, entries, [], rng).origin == "retry"
    entries.append(row("What is B?", status="partial", gaps=["Why C?"]))
    assert pick_question(seeds, entries, [], rng).question == "Why C?"
    entries.append(row("Why C?"))
    assert pick_question(seeds, entries, [], rng) is None


def test_recommendations_weigh_double():
    entries = [row("Q?", gaps=["Gap?"])]
    picks = [pick_question([], entries, ["Rec?"], random.Random(i)).origin for i in range(600)]
    assert 1.6 < picks.count("recommendation") / picks.count("gap") < 2.5


def test_questions_in_markdown():
    text = "## Seeds\n\n**Q1: What is A?**\n- How does B work?\n1. Why C?\nNot a question.\n# Title?"
    assert questions_in(text) == ["What is A?", "How does B work?", "Why C?"]
