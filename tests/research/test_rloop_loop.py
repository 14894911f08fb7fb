"""The research loop offline: a small local collection and the stdlib sample."""
from __future__ import annotations

from deeploop.meta.program import program_version, strategy_section
from deeploop.research.process_log import cohorts_recorded, recommendations_in
from deeploop.research.report_doc import CITATION, LOW_FLAG
from deeploop.runs import run_dirs

from .rloop_helpers import (SEEDS, ScriptedSynth, collection, entries, events, git,  # noqa: F401
                            run, start)


def test_each_question_becomes_a_cited_section_a_row_and_a_commit(collection):
    prepared = start("local", collection, entries=3)
    outcome = run(prepared)
    assert outcome["status"] == "passed" and outcome["entries"] == 3
    rows = entries(prepared)
    assert [r.question for r in rows] == SEEDS
    first = rows[0]
    assert first.confidence == "HIGH" and first.status == "answered"
    assert {s.split("#")[0] for s in first.sources} == {"trio.md", "anyio.md"}
    assert all(r.program_version == "v1" and r.search_count == 2 for r in rows)
    garden = rows[2]
    assert garden.confidence == "LOW" and garden.status == "partial"
    report = prepared.run.report_path.read_text()
    section = report.split("## Security Models")[0].split("## The Problem Space")[1]
    assert f"### {SEEDS[0]}" in section
    assert LOW_FLAG in report.split(f"### {SEEDS[2]}")[1].split("\n## ")[0]
    assert "- [trio.md § Cancel scopes](trio.md#cancel-scopes)" in report.split("## Sources")[1]
    log = git(prepared, "log", "--format=%s", "research/local").splitlines()
    assert log[:3] == [f"research {n}: {q}" for n, q in ((3, SEEDS[2]), (2, SEEDS[1]),
                                                          (1, SEEDS[0]))]
    assert git(prepared, "show", "--format=", "--name-only", "HEAD").split() == \
        ["knowledge_index.tsv", "report.md"]
    assert git(prepared, "status", "--porcelain") == ""  # no lock file left lying about


def test_the_judge_records_every_round_where_feedback_finds_it(collection):
    prepared = start("judged", collection, entries=3)
    run(prepared)
    judged = events(prepared, "judge_result")
    assert [e["round"] for e in judged] == [1, 2, 3]
    assert all(e["node"] == "research" and e["violations"] == [] for e in judged)
    assert prepared.run.path in run_dirs("research")
    for line in prepared.run.report_path.read_text().splitlines():
        if line and not line.startswith(("#", ">", "- [")):  # every claim is cited
            assert CITATION.search(line), line


def test_a_partial_question_is_retried_once_then_the_loop_moves_on(collection):
    prepared = start("retry", collection, entries=5)
    run(prepared)
    questions = [e["question"] for e in events(prepared, "research_started")]
    origins = [e["origin"] for e in events(prepared, "research_started")]
    assert questions[2:4] == [SEEDS[2], SEEDS[2]] and origins[3] == "retry"
    assert origins[4] == "gap"
    searches = [e["attempt"]["search_count"] for e in events(prepared, "research_synthesised")]
    assert searches[2:4] == [2, 3]  # the retry searches once more
    report = prepared.run.report_path.read_text()
    assert report.count(f"### {SEEDS[2]}") == 1  # the retry refines its block in place
    # The retry is what the rule asks for: moving on after it is no hop.
    assert events(prepared, "judge_result")[4]["violations"] == []


def test_breakthroughs_are_sent_once_per_report_section(collection):
    prepared = start("notify", collection, entries=3)
    run(prepared)
    sent = events(prepared, "notification")
    kinds = [(e["kind"], e.get("key")) for e in sent]
    assert kinds == [("breakthrough", "breakthrough:The Problem Space"),
                     ("breakthrough", "breakthrough:Current Approaches & Patterns"),
                     ("done", None)]
    assert "breakthrough in The Problem Space" in prepared.run.notify_log.read_text()
    prepared = start("notify", collection, entries=4)
    run(prepared)  # resumed: no section is announced twice
    again = [e for e in events(prepared, "notification") if e["kind"] == "breakthrough"]
    assert len(again) == len({e["key"] for e in again})


def test_cohorts_at_5_and_10_rewrite_the_strategy_on_the_stdlib_sample():
    prepared = prepare_sample("cohorts", entries=10)
    outcome = run(prepared)
    assert outcome["entries"] == 10 and outcome["cohorts"] == 2
    log = prepared.run.process_log_path.read_text()
    assert "### Cohort 0 → 1 Analysis (" in log and "### Cohort 1 → 2 Analysis (" in log
    assert cohorts_recorded(log) == 2
    program = prepared.run.program_path.read_text()
    assert program_version(program) == 3 and "meta-agent" in program
    assert "Searches per question:" in strategy_section(program)
    assert "## Problem Statement\n\nthe Python standard library's concurrency tools" in program
    metas = [line for line in git(prepared, "log", "--format=%H %s").splitlines()
             if " meta: " in line]
    assert len(metas) == 2
    for line in metas:
        touched = git(prepared, "show", "--format=", "--name-only", line.split()[0]).split()
        assert touched == ["process_log.md", "program.md"]
    analyses = events(prepared, "meta_analysis")
    assert [(e["cohort"], e["version_from"], e["version_to"]) for e in analyses] == \
        [(1, 1, 2), (2, 2, 3)]
    rows = entries(prepared)
    assert {r.program_version for r in rows[5:]} == {"v2"} and rows[0].program_version == "v1"
    recommended = set(recommendations_in(log))
    picked = [e for e in events(prepared, "research_started") if e["round"] > 5]
    assert any(e["origin"] == "recommendation" and e["question"] in recommended for e in picked)


def prepare_sample(tag: str, entries: int):
    from deeploop.research.opening import prepare
    return prepare(tag, topic="the Python standard library's concurrency tools",
                   questions=["How do asyncio tasks get cancelled?",
                              "What does a threading lock do?",
                              "How does a queue pass work between threads?"],
                   entries=entries)


def test_budgets_stop_the_loop_and_say_which(collection):
    prepared = start("budget", collection, entries=10, max_usd=0.25)
    prepared.synthesizer = ScriptedSynth(usd=0.1)
    outcome = run(prepared)
    assert outcome["status"] == "budget_exhausted" and outcome["entries"] == 3
    assert "dollar budget of $0.25 exhausted" in outcome["exit_reason"]
    assert events(prepared, "budget_exhausted")
    prepared = start("budget", collection, entries=10, max_usd=0.25)
    prepared.synthesizer = ScriptedSynth(usd=0.1)
    assert run(prepared)["status"] == "budget_exhausted"  # spend is read back on resume
    assert len(entries(prepared)) == 3
