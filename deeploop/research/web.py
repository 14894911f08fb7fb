"""``anthropic:<model>``: Claude searches the web and records the finding.

One API call per question with two tools: the server-side web search
(``web_search_20250305``, at most ``max_uses`` searches) and a client tool,
``record_finding``, whose JSON schema carries what the knowledge index needs
(section, confidence, status, a summary, gaps). ``tool_choice`` is ``auto``:
Claude searches, writes the finding as text (the API cites every sentence it
draws from a search result), then calls ``record_finding``. A reply that does
not call it (or calls it with input that does not fit the schema) is asked
once more, with the reply sent back and ``tool_choice`` forced to
``record_finding`` (the searches are not run or paid again); a reply that
still does not fit becomes an empty ``partial`` attempt with the reason
(recorded, retried once by the picker).

The finding is the text written after the first search, and its sources are
the API's own citations on those text blocks (``web_search_result_location``:
``url``, ``title``, ``cited_text``), written in as ``([title](url))`` after
each sentence of the cited block, so the judge reads them like any other.
What the judge may accept as cited is read from the response itself: the
URLs of its ``web_search_tool_result`` blocks. A URL the model types itself
is checked against those (and dropped by the judge when it is not one).
Search fees come from the usage the API reports
(``server_tool_use.web_search_requests``). The prompt is laid out for the
prompt cache: the constitution, the lessons and the instructions first
(cached), the question after them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ModelError
from ..models.anthropic import reply_text
from ..models.base import Model
from ..usage import Usage
from .judge import SENTENCE_END
from .report_doc import CITATION, LOW_FLAG, SECTIONS, section_for
from .synthesizer import Attempt, Context

MAX_TOKENS = 4096
WRITABLE = [s for s in SECTIONS if s not in ("Executive Summary", "Sources")]
CONFIDENCES = ("HIGH", "MEDIUM", "LOW")
STATUSES = ("answered", "partial", "conflicting")
RECORD_TOOL = {
    "name": "record_finding",
    "description": "Record the finding you just wrote for the knowledge index. Call it once, "
                   "after searching and writing the finding as text.",
    "input_schema": {
        "type": "object",
        "properties": {
            "section": {"type": "string", "enum": WRITABLE,
                        "description": "the report section the finding belongs in"},
            "confidence": {"type": "string", "enum": list(CONFIDENCES),
                           "description": "HIGH when two or more independent sources agree; "
                                          "MEDIUM with one authoritative source; LOW otherwise"},
            "status": {"type": "string", "enum": list(STATUSES)},
            "summary": {"type": "string", "description": "the answer in one or two sentences"},
            "gaps": {"type": "array", "items": {"type": "string"},
                     "description": "follow-up questions the search raised, each ending in ?"},
        },
        "required": ["section", "confidence", "status", "summary", "gaps"],
    },
}
FORCE_RECORD = {"type": "tool", "name": RECORD_TOOL["name"]}
AGAIN = ("Call record_finding now for the finding you wrote above (section, confidence, "
         "status, summary, gaps). Do not search again.")


def stable_prompt(context: Context) -> str:
    """The same for every question of a run (until a lesson is promoted)."""
    lessons = context.lessons.strip() or "(none yet)"
    return "\n".join([
        context.constitution.strip(), "",
        "## Accumulated lessons (BANS.md)", lessons, "",
        "## How to answer", "",
        "Search the web first and write only what the search results say. After searching, "
        "write the finding as text: short sentences or bullets, each drawn from a search "
        "result (the API cites them for you; do not type URLs), no preamble. Then call "
        "record_finding once with the section, your confidence, the status, a one- or "
        "two-sentence summary and the follow-up questions the search raised.", ""])


def question_prompt(question: str, context: Context) -> str:
    return "\n".join([f"## Your question (round {context.round})", "",
                      f"Topic: {context.topic}", f"Question: {question}", ""])


def _get(obj, name, default=None):
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def search_results(content) -> tuple[dict[str, str], int]:
    """({url: title} of every web search result, number of searches made)."""
    found: dict[str, str] = {}
    searches = 0
    for block in content or []:
        kind = _get(block, "type")
        if kind == "server_tool_use" and _get(block, "name") == "web_search":
            searches += 1
        if kind != "web_search_tool_result":
            continue
        results = _get(block, "content")
        for result in results if isinstance(results, list) else []:
            url = _get(result, "url")
            if url:
                found.setdefault(url, _get(result, "title") or url)
    return found, searches


def api_citations(content) -> list[dict]:
    """The API's web citations on the reply's text blocks, in order, one per
    URL: ``{"url", "title", "cited_text"}``."""
    found: dict[str, dict] = {}
    for block in content or []:
        if _get(block, "type") != "text":
            continue
        for cite in _get(block, "citations") or []:
            url = _get(cite, "url")
            if _get(cite, "type") == "web_search_result_location" and url:
                found.setdefault(url, {"url": url, "title": _get(cite, "title") or url,
                                       "cited_text": _get(cite, "cited_text") or ""})
    return list(found.values())


def _cite_sentences(text: str, links: str) -> str:
    """``links`` after every sentence of ``text``, line by line, keeping the
    whitespace around it (adjacent blocks are one passage)."""
    out = []
    for line in text.split("\n"):
        body = line.strip()
        if not body:
            out.append(line)
            continue
        lead, trail = line[:len(line) - len(line.lstrip())], line[len(line.rstrip()):]
        sentences = [s.strip() for s in SENTENCE_END.split(body) if s.strip()]
        cited = []
        for sentence in sentences:
            stop = sentence[-1] if sentence[-1] in ".!?" else ""
            cited.append(f"{sentence[:len(sentence) - len(stop)].rstrip()}{links}{stop}")
        out.append(lead + " ".join(cited) + trail)
    return "\n".join(out)


def finding_text(content) -> str:
    """The finding: the text written after the first search, with the API's
    citations written in after each sentence of the block they cite. Text
    blocks join as ``models.anthropic.reply_text`` joins them."""
    blocks, searched = [], False
    for block in content or []:
        kind = _get(block, "type")
        if kind == "web_search_tool_result":
            searched = True
        if kind != "text":
            blocks.append({"type": kind})
            continue
        if not searched:
            continue  # narration before any search is not a finding
        text = _get(block, "text") or ""
        links = "".join(dict.fromkeys(
            f" ([{_get(c, 'title') or _get(c, 'url')}]({_get(c, 'url')}))"
            for c in _get(block, "citations") or []
            if _get(c, "type") == "web_search_result_location" and _get(c, "url")))
        blocks.append({"type": "text", "text": _cite_sentences(text, links) if links else text})
    return reply_text(blocks)


def normalised(record):
    """``record`` with section, confidence and status spelled as the schema
    spells them when they match but for case and surrounding space."""
    if not isinstance(record, dict):
        return record
    record = dict(record)
    for name, allowed in (("section", WRITABLE), ("confidence", CONFIDENCES),
                          ("status", STATUSES)):
        value = record.get(name)
        if isinstance(value, str):
            record[name] = next((a for a in allowed if a.lower() == value.strip().lower()),
                                value)
    return record


def fit_problem(record) -> str | None:
    """Why a ``record_finding`` input does not fit its schema, or None."""
    if not isinstance(record, dict):
        return "the reply did not call record_finding"
    for name, allowed in (("section", WRITABLE), ("confidence", CONFIDENCES),
                          ("status", STATUSES)):
        if record.get(name) not in allowed:
            return f"record_finding's {name} {record.get(name)!r} is not one of the allowed values"
    if not isinstance(record.get("summary"), str) or not record["summary"].strip():
        return "record_finding has no summary"
    gaps = record.get("gaps")
    if not isinstance(gaps, list) or not all(isinstance(g, str) for g in gaps):
        return "record_finding's gaps must be a list of questions"
    return None


def _record_call(content) -> dict | None:
    calls = [b for b in content if _get(b, "type") == "tool_use"
             and _get(b, "name") == RECORD_TOOL["name"]]
    return calls[-1] if calls else None


def follow_up(content: list[dict], problem: str) -> list[dict]:
    """The turns that ask again: the reply as it was, then the user's answer
    (a tool_result for an unfit call, which the API requires) and the ask."""
    asked = []
    for block in content:
        if _get(block, "type") == "tool_use":
            asked.append({"type": "tool_result", "tool_use_id": _get(block, "id"),
                          "content": problem, "is_error": True})
    asked.append({"type": "text", "text": f"{problem}. {AGAIN}"})
    return [{"role": "assistant", "content": content}, {"role": "user", "content": asked}]


@dataclass
class WebSynthesizer:
    model: Model
    max_uses: int = 5

    @property
    def spec(self) -> str:
        return self.model.spec

    def tool(self) -> dict:
        return {"type": "web_search_20250305", "name": "web_search", "max_uses": self.max_uses}

    def research(self, question: str, context: Context) -> Attempt:
        ask, stable = question_prompt(question, context), stable_prompt(context)
        tools, usage, content = [self.tool(), RECORD_TOOL], Usage(), []
        try:
            done = self.model.complete(ask, stable=stable, tools=tools,
                                       tool_choice={"type": "auto"}, max_tokens=MAX_TOKENS)
            usage, content = done.usage, list(done.content)
            record = normalised(_get(_record_call(content) or {}, "input"))
            problem = fit_problem(record)
            if problem:  # once more, the reply sent back and the tool call forced
                again = self.model.complete(ask, stable=stable, tools=tools,
                                            tool_choice=FORCE_RECORD, max_tokens=MAX_TOKENS,
                                            turns=follow_up(content, problem))
                usage, content = usage + again.usage, content + list(again.content)
                record = normalised(_get(_record_call(again.content) or {}, "input"))
                problem = fit_problem(record)
                if problem:
                    problem += " (asked twice)"
        except ModelError as exc:
            if not getattr(exc, "stop_reason", None):
                exc.usage = usage + (getattr(exc, "usage", None) or Usage())
                raise  # the API or the network failed: the run says so
            # a refusal or a cut reply: recorded as an empty attempt, with its cost
            usage = usage + (getattr(exc, "usage", None) or Usage())
            record, problem = None, str(exc)
        titles, searches = search_results(content)
        for cite in api_citations(content):
            titles.setdefault(cite["url"], cite["title"])
        searches = max(searches, usage.web_searches)
        if problem:
            return self.unfit(question, titles, searches, usage, problem)
        return self.attempt(question, finding_text(content), record, titles, searches, usage)

    def unfit(self, question: str, titles: dict[str, str], searches: int, usage: Usage,
              problem: str) -> Attempt:
        block = f"### {question}\n\n> The synthesiser's reply could not be recorded.\n\n{LOW_FLAG}"
        return Attempt(question, block, section_for(question),
                       "No usable finding: the reply could not be recorded.", [], "LOW",
                       "partial", [], retrieved=list(titles), labels=titles,
                       search_count=searches, usage=usage, synthesizer=self.spec, note=problem)

    def attempt(self, question: str, text: str, record: dict, titles: dict[str, str],
                searches: int, usage: Usage) -> Attempt:
        finding = re.sub(r"^#{1,3}[ \t]+(.*)$", r"#### \1", text.strip(), flags=re.M)
        cited = list(dict.fromkeys(t for _, t in CITATION.findall(finding)))
        note = "" if cited else "the finding cites no search result"
        gaps = [g.strip() for g in record["gaps"] if g.strip().endswith("?")]
        return Attempt(question, f"### {question}\n\n{finding}".rstrip(), record["section"],
                       record["summary"].strip(), cited, record["confidence"],
                       record["status"], gaps, retrieved=list(titles), labels=titles,
                       search_count=searches, usage=usage, synthesizer=self.spec, note=note)
