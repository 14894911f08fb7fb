"""The pure decisions of the research loop: settle, the cohort analyst,
program.md and process_log.md."""
from __future__ import annotations

from deeploop.meta.cohort import cohort_metrics, render_cohort_entry
from deeploop.research.cohort_analysis import analyse_cohort, next_searches, recommend
from deeploop.research.process_log import (append_cohort, cohorts_recorded, process_log_text,
                                           recommendations_in, recommended_block)
from deeploop.research.program_doc import (DEFAULT_SEARCHES, has_placeholder, program_text,
                                           searches_of, seeds_of, topic_of)
from deeploop.research.report_doc import LOW_FLAG, new_report, replace_question
from deeploop.research.settle import checked_confidence, enforce, independent, settle
from deeploop.research.synthesizer import Attempt

A, B = "https://a.example/x", "https://www.b.example/y"


def attempt(block: str, retrieved=(A, B), confidence="HIGH", status="answered") -> Attempt:
    return Attempt("What is X?", f"### What is X?\n\n{block}", "The Problem Space", "X is Y.",
                   [], confidence, status, ["What is Z?"], list(retrieved), {A: "A", B: "B"},
                   search_count=2)


def test_enforce_keeps_only_sentences_citing_what_was_retrieved():
    block = (f"- X is Y ([A]({A})). X is also W.\n- Z is Q ([C](https://c.example)).\n"
             f"#### Detail\n\nBoth agree ([A]({A})) ([B]({B})).")
    clean, dropped = enforce(block, {A, B})
    assert clean == f"- X is Y ([A]({A})).\n#### Detail\n\nBoth agree ([A]({A})) ([B]({B}))."
    assert dropped == ["X is also W.", "Z is Q ([C](https://c.example))."]


def test_confidence_needs_independent_sources():
    assert independent([A, "https://a.example/other", B]) == {"a.example", "b.example"}
    assert independent(["trio.md#a", "trio.md#b", "anyio.md"]) == {"trio.md", "anyio.md"}
    assert checked_confidence("HIGH", [A, "https://a.example/z"]) == "MEDIUM"
    assert checked_confidence("HIGH", [A, B]) == "HIGH"
    assert checked_confidence("MEDIUM", []) == "LOW"


def test_settle_judges_the_proposal_and_writes_the_rules_enforced():
    report = new_report("T")
    settled = settle(report, [], attempt(f"X is Y ([A]({A})). Unsupported claim."), "v3")
    assert settled.verdict.violations == ["no-citation"]
    assert settled.verdict.detail["confidence_written"] == "MEDIUM"
    assert "Unsupported" not in settled.report and settled.dropped == ["Unsupported claim."]
    entry = settled.entry
    assert (entry.sources, entry.confidence, entry.program_version, entry.search_count) == \
        ([A], "MEDIUM", "v3", 2)
    assert f"- *What is X?* X is Y ([A]({A}))." in settled.report.split("## The Problem")[0]


def test_settle_flags_and_marks_partial_what_is_left_without_support():
    settled = settle(new_report("T"), [], attempt("Nothing cited here."), "v1")
    assert settled.verdict.violations == ["no-citation"]
    assert (settled.entry.confidence, settled.entry.status) == ("LOW", "partial")
    assert LOW_FLAG in settled.report and "Executive Summary\n\n## " in settled.report


def test_a_retry_replaces_the_questions_block_and_summary_line():
    first = settle(new_report("T"), [], attempt(f"X is Y ([A]({A}))."), "v1")
    second = settle(first.report, [first.entry], attempt(f"X is Z ([B]({B}))."), "v1")
    assert second.report.count("### What is X?") == 1 and "X is Y" not in second.report
    assert second.report.count("- *What is X?*") == 1
    assert replace_question(new_report("T"), "What is X?", "### What is X?\n\nx") is None


def row(question, confidence="MEDIUM", sources="a|b", gaps=""):
    return {"question": question, "confidence": confidence, "sources": sources,
            "gaps_identified": gaps, "status": "partial" if confidence == "LOW" else "answered",
            "search_count": "2"}


def test_thin_cohorts_search_more_and_recommend_the_most_raised_gaps():
    rows = [row("What is A?", "LOW", "a", "What is G?|What is H?"),
            row("What is B?", "LOW", "b", "What is H?"),
            row("How does C work?", "HIGH", "a|b", "What is K?|What is B?"),
            row("What is D?", "LOW", "a"), row("What is E?", "MEDIUM", "a|b")]
    analysis = analyse_cohort(rows, "- Searches per question: 2")
    assert (analysis.number, analysis.searches_from, analysis.searches_to) == (1, 2, 3)
    assert "- Searches per question: 3" in analysis.strategy
    assert analysis.recommendations == ["What is H?", "What is K?", "What is G?"]
    assert any("stayed LOW" in note for note in analysis.didnt)
    assert next_searches(4, cohort_metrics(rows))[0] == 4  # never past the maximum
    assert recommend(rows, rows[:1], limit=1) == ["What is G?"]


def test_a_strong_cohort_keeps_its_searches_and_says_what_worked():
    rows = [row(f"How does {c} work?", "HIGH", "a|b") for c in "ABCDE"]
    analysis = analyse_cohort(rows * 2, "- Searches per question: 2")
    assert analysis.number == 2 and analysis.searches_to == 2
    assert "'how' questions: 5 of 5 HIGH" in analysis.worked


def test_program_md_round_trip():
    text = program_text("cancel scopes", ["What is A?", "How does B work?"], created="now")
    assert topic_of(text) == "cancel scopes" and seeds_of(text) == ["What is A?",
                                                                    "How does B work?"]
    assert searches_of(None) == DEFAULT_SEARCHES == searches_of(text)
    assert searches_of("- Searches per question: 9") == 4
    assert has_placeholder(program_text("YOUR_TOPIC_HERE", ["What is A?"], created="now"))
    assert has_placeholder(program_text("x", ["What is YOUR_TOPIC_HERE?"], created="now"))
    assert "**Version:** v1" in text


def test_process_log_entries_and_recommendations():
    entry = render_cohort_entry([], [row("What is A?")] * 5, 1, date="2026-01-01",
                                version_from=1, version_to=2, worked=[], didnt=[], change=["x"])
    log = append_cohort(process_log_text(), entry + recommended_block(["What is G?", "Q2?"]))
    assert cohorts_recorded(log) == 1 and cohorts_recorded(process_log_text()) == 0
    assert "### Cohort 0 → 1 Analysis (2026-01-01)" in log
    later = append_cohort(log, entry.replace("Cohort 0 → 1", "Cohort 1 → 2")
                          + recommended_block(["What is G?", "What is K?"]))
    assert recommendations_in(later) == ["What is G?", "Q2?", "What is K?"]
    assert cohorts_recorded(later) == 2
    assert recommendations_in(append_cohort("", recommended_block([]))) == []
