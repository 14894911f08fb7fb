"""anthropic:<model> synthesis, offline: the SDK talks to an httpx2 MockTransport
replaying recorded-style replies with web search results (good, uncited,
fabricated, malformed, failing)."""
from __future__ import annotations

import json

import anthropic
import httpx2
import pytest

from deeploop.cli import main
from deeploop.errors import ModelError
from deeploop.judges import JudgeContext, load_judge
from deeploop.lessons import feedback
from deeploop.models.anthropic import AnthropicModel
from deeploop.nodes import find_node
from deeploop.research.web import WebSynthesizer

from .rloop_helpers import (collection, entries, events, research_node, run,  # noqa: F401
                            start)

SPEC = "https://spec.example.org/cancel-scopes"
BLOG = "https://blog.example.com/2024/deadlines"
QUESTION = "What happens when a cancel scope deadline expires?"
GOOD = f"""I searched and read two sources.
SECTION: Current Approaches & Patterns
CONFIDENCE: HIGH
STATUS: answered
SUMMARY: An expired deadline cancels every task in the scope.
GAPS: How do nested cancel scopes interact? | Not a question
FINDING:
- An expired deadline cancels every task inside the scope ([Spec](https://www.spec.example.org/cancel-scopes/)).
- The innermost expired scope wins when scopes nest ([Deadlines blog]({BLOG})).
END FINDING
"""
UNCITED = f"""SECTION: The Problem Space
CONFIDENCE: HIGH
STATUS: answered
SUMMARY: Deadlines cancel tasks.
GAPS:
FINDING:
Deadlines cancel tasks in the scope ([Spec]({SPEC})). Everyone agrees this is the best design.
Trio invented it in 1998 ([Made up](https://fake.example.net/history)).
END FINDING
"""
MALFORMED = "I could not find anything useful, sorry."


def message(text: str, results: list[tuple[str, str]], searches: int = 1) -> dict:
    content = []
    for n in range(searches):
        content.append({"type": "server_tool_use", "id": f"srvtoolu_{n}", "name": "web_search",
                        "input": {"query": "cancel scope deadline"}})
        content.append({"type": "web_search_tool_result", "tool_use_id": f"srvtoolu_{n}",
                        "content": [{"type": "web_search_result", "url": url, "title": title,
                                     "encrypted_content": "e30=", "page_age": None}
                                    for url, title in results]})
    content.append({"type": "text", "text": text})
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": content, "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 2000, "output_tokens": 400,
                      "server_tool_use": {"web_search_requests": searches}}}


RESULTS = [(SPEC, "Cancel scopes — spec"), (BLOG, "Deadlines, explained")]


def client_replying(*replies):
    """An SDK client whose calls get ``replies`` in order (an int is an HTTP
    error status); the request bodies are kept."""
    seen, queue = [], list(replies)

    def handler(request):
        seen.append(json.loads(request.content))
        reply = queue.pop(0)
        if isinstance(reply, int):
            return httpx2.Response(reply, json={"type": "error", "error": {
                "type": "api_error", "message": "overloaded"}})
        return httpx2.Response(200, json=reply)

    return anthropic.Anthropic(api_key="test", max_retries=0, http_client=httpx2.Client(
        transport=httpx2.MockTransport(handler))), seen


def web_run(tag, collection, *replies, entries=1):
    client, seen = client_replying(*replies)
    prepared = start(tag, collection, entries=entries, questions=[QUESTION],
                     synthesizer="anthropic:claude-sonnet-4-6", client=client, max_uses=3)
    return prepared, run(prepared), seen


def test_claude_searches_and_writes_a_cited_finding(collection, research_node):
    prepared, outcome, seen = web_run("web", collection, message(GOOD, RESULTS, searches=2))
    request = seen[0]
    assert request["tools"] == [{"type": "web_search_20250305", "name": "web_search",
                                 "max_uses": 3}]
    stable, asked = request["messages"][0]["content"]
    assert "# Research constitution" in stable["text"]
    assert "## Accumulated lessons (BANS.md)" in stable["text"]
    assert stable["cache_control"]["type"] == "ephemeral"  # the cached prefix
    assert f"Question: {QUESTION}" in asked["text"] and QUESTION not in stable["text"]
    row = entries(prepared)[0]
    assert (row.confidence, row.status, row.search_count) == ("HIGH", "answered", 2)
    assert row.sources == [SPEC, BLOG]  # the cited www./slash variant written as returned
    assert row.gaps == ["How do nested cancel scopes interact?"]
    report = prepared.run.report_path.read_text()
    section = report.split("## Current Approaches & Patterns")[1].split("\n## ")[0]
    assert f"([Spec]({SPEC}))" in section and f"### {QUESTION}" in section
    assert f"- [Cancel scopes — spec]({SPEC})" in report.split("## Sources")[1]
    assert events(prepared, "judge_result")[0]["violations"] == []
    cost = events(prepared, "research_result")[0]["cost"]
    assert cost["usd"] == pytest.approx(0.006 + 0.006 + 0.02)  # tokens plus two searches


def test_the_apis_citations_are_sources_of_the_finding(collection, research_node):
    head, tail = GOOD.split(f"- The innermost expired scope wins when scopes nest "
                            f"([Deadlines blog]({BLOG})).\n")
    reply = message(head, RESULTS)
    reply["content"] += [
        {"type": "text", "text": "- The innermost expired scope wins when scopes nest.",
         "citations": [{"type": "web_search_result_location", "url": BLOG,
                        "title": "Deadlines, explained", "encrypted_index": "Eo8BCioIAhgBIiQy",
                        "cited_text": "the innermost expired scope wins"}]},
        {"type": "text", "text": "\n" + tail}]
    prepared, _, _ = web_run("cited", collection, reply)
    row = entries(prepared)[0]
    assert row.sources == [SPEC, BLOG]  # BLOG only from the citation block


def test_uncited_and_fabricated_claims_are_judged_and_kept_out(collection, research_node):
    prepared, _, _ = web_run("uncited", collection, message(UNCITED, RESULTS[:1]))
    verdict = events(prepared, "judge_result")[0]
    assert verdict["violations"] == ["no-citation", "fabricated-source"]
    assert verdict["detail"]["dropped_count"] == 2
    report = prepared.run.report_path.read_text()
    assert "Deadlines cancel tasks in the scope" in report
    assert "best design" not in report and "fake.example" not in report
    row = entries(prepared)[0]
    assert row.sources == [SPEC] and row.confidence == "MEDIUM"  # one site is not HIGH
    # The node's judge.py re-judges the round from the run's files alike.
    judge = load_judge(research_node)
    context = JudgeContext("research", prepared.run.path, 1, "", "")
    assert judge.func("", context)["violations"] == verdict["violations"]


def test_a_malformed_reply_is_recorded_partial_and_retried(collection, research_node):
    prepared, _, seen = web_run("malformed", collection, message(MALFORMED, RESULTS),
                                message(GOOD, RESULTS), entries=2)
    first, second = entries(prepared)
    assert (first.question, first.confidence, first.status) == (QUESTION, "LOW", "partial")
    assert second.question == QUESTION and second.confidence == "HIGH"
    assert [e["origin"] for e in events(prepared, "research_started")] == ["seed", "retry"]
    synthesised = events(prepared, "research_synthesised")[0]["attempt"]
    assert synthesised["note"] == "reply had no FINDING block"
    report = prepared.run.report_path.read_text()
    assert report.count(f"### {QUESTION}") == 1 and "no FINDING block" not in report


def test_an_api_that_keeps_failing_fails_the_run_and_records_nothing(collection, research_node):
    client, _ = client_replying(500, 500)
    prepared = start("down", collection, entries=1, questions=[QUESTION])
    prepared.synthesizer = WebSynthesizer(AnthropicModel("claude-sonnet-4-6", client=client))
    with pytest.raises(ModelError, match="API error 500"):
        run(prepared)
    assert entries(prepared) == []
    outcome = json.loads((prepared.run.path / "outcome.json").read_text())
    assert outcome["status"] == "failed"


def test_recurring_violations_become_lessons_the_next_prompt_carries(collection, research_node):
    for tag in ("lesson-a", "lesson-b"):
        web_run(tag, collection, message(UNCITED, RESULTS[:1]))
    report = feedback(find_node("research"))
    assert [p.key for p in report.promoted] == ["fabricated-source", "no-citation"]
    bans = (research_node / "BANS.md").read_text()
    assert "- `no-citation` — promoted from 2 of last 5 runs" in bans
    _, _, seen = web_run("lesson-c", collection, message(GOOD, RESULTS))
    stable = seen[0]["messages"][0]["content"][0]["text"]
    lessons = stable.split("## Accumulated lessons (BANS.md)")[1]
    assert "`no-citation`" in lessons.split("## How to answer")[0]


def test_the_cli_refuses_anthropic_without_a_key(collection, capsys, runs_root):
    code = main(["research", "run", "--tag", "nokey", "--topic", "t", "--sources",
                 f"local:{collection}", "--synthesizer", "anthropic:claude-sonnet-4-6"])
    assert code == 2
    assert "needs ANTHROPIC_API_KEY" in capsys.readouterr().err
    assert not (runs_root / "research" / "nokey").exists()


def test_a_refusal_is_recorded_with_its_reason_and_cost(collection, research_node):
    refused = message("I can't help with that.", RESULTS[:1])
    refused["stop_reason"] = "refusal"
    prepared, _, seen = web_run("refused", collection, refused, message(GOOD, RESULTS))
    attempt = events(prepared, "research_synthesised")[0]["attempt"]
    assert attempt["note"].endswith("the model refused: I can't help with that.")
    assert attempt["usage"]["usd"] > 0 and len(seen) == 1
    assert entries(prepared)[0].status == "partial"


def test_the_dollar_cap_refuses_a_call_before_it_is_sent(collection, research_node):
    client, seen = client_replying(message(GOOD, RESULTS))
    prepared = start("capped", collection, entries=1, questions=[QUESTION],
                     synthesizer="anthropic:claude-sonnet-4-6", client=client, max_uses=3,
                     max_usd=0.02)  # one call could cost $0.09
    outcome = run(prepared)
    assert outcome["status"] == "budget_exhausted" and seen == []
    assert "could cost up to" in outcome["exit_reason"] and outcome.get("usd", 0) == 0
