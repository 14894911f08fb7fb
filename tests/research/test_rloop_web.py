"""anthropic:<model> synthesis, offline: the real SDK talks to an httpx2
MockTransport replaying replies written from the Messages API reference:
web searches with results, text blocks with ``web_search_result_location``
citations, a ``record_finding`` tool call (or none, or one that does not fit),
refusals, pauses, cut replies and failures."""
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
from deeploop.models.pricing import PRICES, cost_usd, usage_tokens
from deeploop.models.standin import message as api_message
from deeploop.nodes import find_node
from deeploop.research.web import RECORD_TOOL, WebSynthesizer, finding_text

from .rloop_helpers import (collection, entries, events, research_node, run,  # noqa: F401
                            start)

MODEL = "claude-sonnet-4-6"
SPEC = "https://spec.example.org/cancel-scopes"
BLOG = "https://blog.example.com/2024/deadlines"
QUESTION = "What happens when a cancel scope deadline expires?"
RESULTS = [(SPEC, "Cancel scopes — spec"), (BLOG, "Deadlines, explained")]
RECORD = {"section": "Current Approaches & Patterns", "confidence": "HIGH",
          "status": "answered", "summary": "An expired deadline cancels every task in the scope.",
          "gaps": ["How do nested cancel scopes interact?", "Not a question"]}


def cite(url, title, quoted):
    return {"type": "web_search_result_location", "url": url, "title": title,
            "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm", "cited_text": quoted}


def searched(results=RESULTS, searches=1):
    """server_tool_use + web_search_tool_result blocks, as the API returns them."""
    blocks = []
    for n in range(searches):
        blocks.append({"type": "server_tool_use", "id": f"srvtoolu_01{n}", "name": "web_search",
                       "input": {"query": "cancel scope deadline"}})
        blocks.append({"type": "web_search_tool_result", "tool_use_id": f"srvtoolu_01{n}",
                       "content": [{"type": "web_search_result", "url": url, "title": title,
                                    "encrypted_content": "EqgfCioIARgBIiQ3YTAw",
                                    "page_age": "April 30, 2025"} for url, title in results]})
    return blocks


CITED = [  # the finding as the API returns it: split at citation boundaries
    {"type": "text", "text": "- An expired deadline cancels every task inside the scope",
     "citations": [cite(SPEC, "Cancel scopes — spec", "cancels every task inside it")]},
    {"type": "text", "text": ".\n"},
    {"type": "text", "text": "- The innermost expired scope wins when scopes nest.",
     "citations": [cite(BLOG, "Deadlines, explained", "the innermost expired scope wins")]},
]


def recording(record=None, tool_id="toolu_01A09q90qw90lq917835lq9"):
    return {"type": "tool_use", "id": tool_id, "name": "record_finding",
            "input": RECORD if record is None else record}


def reply(content, stop="tool_use", searches=0):
    return api_message(content, stop_reason=stop, model=MODEL, input_tokens=2000,
                       output_tokens=400, web_searches=searches)


def full_reply(text=CITED, record=None, searches=2):
    return reply([{"type": "text", "text": "I'll search for that."}, *searched(searches=searches),
                  *text, recording(record)], searches=searches)


def client_replying(*replies, count=None):
    """An SDK client whose calls get ``replies`` in order (an int is an HTTP
    error status); the request bodies are kept. A prompt the purse counts
    (``count_tokens``, near the cap) is ``count`` tokens."""
    seen, queue = [], list(replies)

    def handler(request):
        if request.url.path.endswith("/count_tokens"):
            return httpx2.Response(200, json={"input_tokens": count})
        seen.append(json.loads(request.content))
        answer = queue.pop(0)
        if isinstance(answer, int):
            return httpx2.Response(answer, json={"type": "error", "error": {
                "type": "api_error", "message": "overloaded"}})
        return httpx2.Response(200, json=answer)

    return anthropic.Anthropic(api_key="test", max_retries=0, http_client=httpx2.Client(
        transport=httpx2.MockTransport(handler))), seen


def web_run(tag, collection, *replies, entries=1, count=1500, **options):
    client, seen = client_replying(*replies, count=count)
    prepared = start(tag, collection, entries=entries, questions=[QUESTION],
                     synthesizer=f"anthropic:{MODEL}", client=client, max_uses=3, **options)
    return prepared, run(prepared), seen


def billed(*replies):
    return sum(cost_usd(PRICES[MODEL], usage_tokens(r["usage"])) for r in replies)


def test_claude_searches_writes_and_records_a_finding_the_api_cited(collection, research_node):
    answer = full_reply()
    prepared, outcome, seen = web_run("web", collection, answer)
    request = seen[0]
    assert request["tools"] == [{"type": "web_search_20250305", "name": "web_search",
                                 "max_uses": 3}, RECORD_TOOL]
    assert request["tool_choice"] == {"type": "auto"}
    stable, asked = request["messages"][0]["content"]
    assert "# Research constitution" in stable["text"]
    assert "## Accumulated lessons (BANS.md)" in stable["text"]
    assert stable["cache_control"]["type"] == "ephemeral"  # the cached prefix
    assert f"Question: {QUESTION}" in asked["text"] and QUESTION not in stable["text"]
    row = entries(prepared)[0]
    assert (row.confidence, row.status, row.search_count) == ("HIGH", "answered", 2)
    assert row.sources == [SPEC, BLOG]  # from the API's citations
    assert row.answer_summary == RECORD["summary"]
    assert row.gaps == ["How do nested cancel scopes interact?"]
    report = prepared.run.report_path.read_text()
    section = report.split("## Current Approaches & Patterns")[1].split("\n## ")[0]
    assert (f"- An expired deadline cancels every task inside the scope "
            f"([Cancel scopes — spec]({SPEC})).") in section
    assert "I'll search" not in report  # narration before the search is no finding
    assert f"- [Deadlines, explained]({BLOG})" in report.split("## Sources")[1]
    assert events(prepared, "judge_result")[0]["violations"] == []
    cost = events(prepared, "research_result")[0]["cost"]
    assert cost["usd"] == pytest.approx(billed(answer)) and len(seen) == 1
    assert cost["usd"] == pytest.approx(0.006 + 0.006 + 0.02)  # tokens plus two searches


def test_a_reply_without_record_finding_is_asked_again_with_the_tool_forced(
        collection, research_node):
    first = reply([*searched(), *CITED], stop="end_turn", searches=1)
    second = reply([recording()])
    prepared, _, seen = web_run("forced", collection, first, second)
    assert len(seen) == 2 and seen[1]["tool_choice"] == {"type": "tool",
                                                         "name": "record_finding"}
    assert seen[1]["tools"] == seen[0]["tools"]
    assert seen[1]["messages"][0] == seen[0]["messages"][0]
    assert seen[1]["messages"][1] == {"role": "assistant", "content": first["content"]}
    ask = seen[1]["messages"][2]
    assert ask["role"] == "user" and "the reply did not call record_finding" in \
        ask["content"][0]["text"]
    row = entries(prepared)[0]
    assert row.sources == [SPEC, BLOG] and row.confidence == "HIGH"  # the first reply's text
    cost = events(prepared, "research_result")[0]["cost"]
    assert cost["usd"] == pytest.approx(billed(first, second)) and cost["calls"] == 2


def test_a_record_that_still_does_not_fit_is_a_partial_finding_with_the_reason(
        collection, research_node):
    bad = dict(RECORD, confidence="CERTAIN")
    first = reply([*searched(), *CITED, recording(bad, "toolu_01")], searches=1)
    second = reply([recording(dict(bad, status="done"), "toolu_02")])
    prepared, _, seen = web_run("unfit", collection, first, second, full_reply(), entries=2)
    # the unfit call is answered with an error tool_result, as the API requires
    result, text = seen[1]["messages"][2]["content"]
    assert result == {"type": "tool_result", "tool_use_id": "toolu_01", "is_error": True,
                      "content": "record_finding's confidence 'CERTAIN' is not one of the "
                                 "allowed values"}
    assert text["type"] == "text"
    attempt = events(prepared, "research_synthesised")[0]["attempt"]
    assert attempt["note"] == ("record_finding's confidence 'CERTAIN' is not one of the allowed "
                               "values (asked twice)")
    first_row, second_row = entries(prepared)
    assert (first_row.confidence, first_row.status) == ("LOW", "partial")
    assert second_row.status == "answered" and len(seen) == 3
    assert [e["origin"] for e in events(prepared, "research_started")] == ["seed", "retry"]
    report = prepared.run.report_path.read_text()
    assert report.count(f"### {QUESTION}") == 1 and "could not be recorded" not in report


def test_typed_and_uncited_claims_are_judged_and_kept_out(collection, research_node):
    text = [CITED[0], {"type": "text", "text": ". Everyone agrees this is the best design.\n"
                                               "Trio invented it in 1998 "
                                               "([Made up](https://fake.example.net/history))."}]
    prepared, _, _ = web_run("uncited", collection, full_reply(text, searches=1))
    verdict = events(prepared, "judge_result")[0]
    assert verdict["violations"] == ["no-citation", "fabricated-source"]
    assert verdict["detail"]["dropped_count"] == 2
    report = prepared.run.report_path.read_text()
    assert "cancels every task inside the scope" in report
    assert "best design" not in report and "fake.example" not in report
    row = entries(prepared)[0]
    assert row.sources == [SPEC] and row.confidence == "MEDIUM"  # one site is not HIGH
    # The node's judge.py re-judges the round from the run's files alike.
    judge = load_judge(research_node)
    context = JudgeContext("research", prepared.run.path, 1, "", "")
    assert judge.func("", context)["violations"] == verdict["violations"]


def test_a_paused_turn_is_continued_and_its_searches_count(collection, research_node):
    paused = reply(searched(), stop="pause_turn", searches=1)
    rest = reply([*CITED, recording()], searches=1)
    prepared, _, seen = web_run("paused", collection, paused, rest)
    assert seen[1]["messages"][-1] == {"role": "assistant", "content": paused["content"]}
    row = entries(prepared)[0]
    assert row.sources == [SPEC, BLOG] and row.search_count == 2
    assert events(prepared, "research_result")[0]["cost"]["usd"] == pytest.approx(
        billed(paused, rest))


def test_a_cut_reply_is_recorded_partial_with_its_cost(collection, research_node):
    cut = reply([*searched(), CITED[0]], stop="max_tokens", searches=1)
    prepared, _, seen = web_run("cut", collection, cut, full_reply(), entries=2)
    attempt = events(prepared, "research_synthesised")[0]["attempt"]
    assert "cut at max_tokens (4096)" in attempt["note"]
    assert attempt["usage"]["usd"] == pytest.approx(billed(cut))
    assert entries(prepared)[0].status == "partial" and entries(prepared)[1].status == "answered"
    assert "cancels every task" not in attempt["block"]  # a cut reply is never acted on


def test_an_api_that_keeps_failing_fails_the_run_and_records_nothing(collection, research_node):
    client, _ = client_replying(500, 500)
    prepared = start("down", collection, entries=1, questions=[QUESTION])
    prepared.synthesizer = WebSynthesizer(AnthropicModel(MODEL, client=client))
    with pytest.raises(ModelError, match="API error 500"):
        run(prepared)
    assert entries(prepared) == []
    outcome = json.loads((prepared.run.path / "outcome.json").read_text())
    assert outcome["status"] == "failed"


def test_recurring_violations_become_lessons_the_next_prompt_carries(collection, research_node):
    uncited = [{"type": "text", "text": "Deadlines cancel tasks, and everyone agrees."}]
    for tag in ("lesson-a", "lesson-b"):
        web_run(tag, collection, full_reply(uncited, searches=1))
    report = feedback(find_node("research"))
    assert [p.key for p in report.promoted] == ["no-citation"]
    bans = (research_node / "BANS.md").read_text()
    assert "- `no-citation` — promoted from 2 of last 5 runs" in bans
    _, _, seen = web_run("lesson-c", collection, full_reply())
    stable = seen[0]["messages"][0]["content"][0]["text"]
    lessons = stable.split("## Accumulated lessons (BANS.md)")[1]
    assert "`no-citation`" in lessons.split("## How to answer")[0]


def test_the_cli_refuses_anthropic_without_a_key(collection, capsys, runs_root):
    code = main(["research", "run", "--tag", "nokey", "--topic", "t", "--sources",
                 f"local:{collection}", "--synthesizer", f"anthropic:{MODEL}"])
    assert code == 2
    assert "needs ANTHROPIC_API_KEY" in capsys.readouterr().err
    assert not (runs_root / "research" / "nokey").exists()


def test_a_refusal_is_recorded_with_its_reason_and_cost(collection, research_node):
    refused = reply([*searched(), {"type": "text", "text": "I can't help with that."}],
                    stop="refusal", searches=1)
    prepared, _, seen = web_run("refused", collection, refused, full_reply(), entries=2)
    attempt = events(prepared, "research_synthesised")[0]["attempt"]
    assert attempt["note"].endswith("the model refused: I can't help with that.")
    assert attempt["usage"]["usd"] == pytest.approx(billed(refused))
    assert entries(prepared)[0].status == "partial" and len(seen) == 2


def test_the_dollar_cap_refuses_a_call_before_it_is_sent(collection, research_node):
    # counted 1,500 tokens: $0.009 + 4,096 output ($0.061) + 3 searches ($0.03) > $0.05
    prepared, outcome, seen = web_run("capped", collection, full_reply(), max_usd=0.05)
    assert outcome["status"] == "budget_exhausted" and seen == []
    assert "could cost up to $0.1004" in outcome["exit_reason"] and outcome.get("usd", 0) == 0


def test_finding_text_cites_every_sentence_of_a_cited_block():
    content = [*searched(), {"type": "text", "text": "Scopes nest. The innermost wins",
                             "citations": [cite(BLOG, "Deadlines", "x")]},
               {"type": "text", "text": "."}]
    assert finding_text(content) == (f"Scopes nest ([Deadlines]({BLOG})). "
                                     f"The innermost wins ([Deadlines]({BLOG})).")


def test_a_rejected_key_ends_the_run_failed_in_one_line_end_to_end(collection, research_node,
                                                                   runs_root, capsys,
                                                                   monkeypatch):
    from deeploop.models.standin import StandIn, error
    standin = StandIn(lambda body: (401, {}, error(401, "authentication_error",
                                                   "invalid x-api-key")))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-bad")
    with standin.serve() as url:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        code = main(["research", "run", "--tag", "badkey", "--topic", "t", "--sources",
                     f"local:{collection}", "--synthesizer", f"anthropic:{MODEL}",
                     "--entries", "2", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and len(standin.requests) == 1  # no retry
    assert err == (f"deeploop research: anthropic:{MODEL}: the API rejected the key (401): "
                   "invalid x-api-key; check ANTHROPIC_API_KEY\n")
    run_dir = runs_root / "research" / "badkey"
    outcome = json.loads((run_dir / "outcome.json").read_text())
    assert outcome["status"] == "failed" and "rejected the key" in outcome["exit_reason"]
    kinds = [json.loads(line)["type"] for line in
             (run_dir / "events.jsonl").read_text().splitlines()]
    assert "research_synthesised" not in kinds and "research_result" not in kinds, kinds
    assert "research_interrupted" in kinds  # the question in flight, recorded as such
    index = run_dir / "workspace" / "knowledge_index.tsv"
    assert len(index.read_text().splitlines()) == 1  # the header: no row


def test_fit_problem_and_case_normalising():
    from deeploop.research.web import fit_problem, normalised
    record = normalised(dict(RECORD, section=" current approaches & patterns",
                             confidence="high", status="Answered"))
    assert fit_problem(record) is None and record["confidence"] == "HIGH"
    assert fit_problem(None) == "the reply did not call record_finding"
    assert fit_problem(dict(RECORD, summary=" ")) == "record_finding has no summary"
    assert fit_problem(dict(RECORD, gaps="why?")) == \
        "record_finding's gaps must be a list of questions"
    assert "section 'Elsewhere'" in fit_problem(dict(RECORD, section="Elsewhere"))
