"""``anthropic:<model>``: Claude searches the web and writes the finding.

One API call per question with the server-side web search tool
(``web_search_20250305``, at most ``max_uses`` searches). The prompt is the
research constitution (nodes/research/PROMPT.md), its lessons (BANS.md) and
the question; the reply is a small delimited form (``REPLY_FORMAT``).

What the judge may accept as cited is read from the response itself: the
URLs in its ``web_search_tool_result`` blocks. The API's own citations on
the reply's text blocks (``web_search_result_location``) are sources of the
finding as they stand, whatever URLs the model retypes. Search fees come
from the usage the API reports (``server_tool_use.web_search_requests``).
The prompt is laid out for the prompt cache: the constitution, the lessons
and the reply form first (cached), the question after them. A cited URL that differs
from a returned one only by a trailing slash, ``www.`` or a fragment is
written as the returned one. A reply without a FINDING block becomes an
empty, flagged, partial attempt (recorded, retried once by the picker).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ModelError
from ..models.base import Model, Usage
from .report_doc import CITATION, LOW_FLAG, SECTIONS, section_for
from .synthesizer import Attempt, Context

MAX_TOKENS = 4096
WRITABLE = [s for s in SECTIONS if s not in ("Executive Summary", "Sources")]
REPLY_FORMAT = """\
SECTION: <one of: {sections}>
CONFIDENCE: <HIGH when two or more independent sources agree; MEDIUM with one authoritative source; LOW otherwise>
STATUS: <answered | partial | conflicting>
SUMMARY: <one or two sentences>
GAPS: <a follow-up question this raised?> | <another?>
FINDING:
<sentences or bullets; every sentence ends with its citation ([Source Name](URL)),
 the URL exactly as your search results gave it>
END FINDING"""
_FIELD = re.compile(r"^(SECTION|CONFIDENCE|STATUS|SUMMARY|GAPS):[ \t]*(.*?)[ \t]*$", re.M)
_FINDING = re.compile(r"^FINDING:[ \t]*\n(.*?)(?:^END FINDING[ \t]*$|\Z)", re.M | re.S)
_HEADING = re.compile(r"^#{1,3}[ \t]+(.*)$", re.M)


def stable_prompt(context: Context) -> str:
    """The same for every question of a run (until a lesson is promoted)."""
    lessons = context.lessons.strip() or "(none yet)"
    return "\n".join([
        context.constitution.strip(), "",
        "## Accumulated lessons (BANS.md)", lessons, "",
        "## How to answer", "",
        "Search the web first and write only what the search results say. Reply in exactly "
        "this form, nothing after END FINDING:", "",
        REPLY_FORMAT.format(sections=", ".join(WRITABLE)), ""])


def question_prompt(question: str, context: Context) -> str:
    return "\n".join([f"## Your question (round {context.round})", "",
                      f"Topic: {context.topic}", f"Question: {question}", ""])


def build_prompt(question: str, context: Context) -> str:
    return stable_prompt(context) + "\n" + question_prompt(question, context)


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


def cited_text(content) -> str:
    """The reply's text with the API's own citations written in: a text block
    the API cites (``web_search_result_location``) ends with a markdown
    citation of each source, so the judge reads them like any other. Text
    blocks join as ``models.anthropic.reply_text`` joins them."""
    from ..models.anthropic import reply_text
    blocks = []
    for block in content or []:
        if _get(block, "type") == "text":
            text = _get(block, "text") or ""
            links = [f" ([{_get(c, 'title') or _get(c, 'url')}]({_get(c, 'url')}))"
                     for c in _get(block, "citations") or []
                     if _get(c, "type") == "web_search_result_location" and _get(c, "url")
                     and _get(c, "url") not in text]
            block = {"type": "text", "text": text.rstrip() + "".join(dict.fromkeys(links))
                     + (text[len(text.rstrip()):] if links else "")}
        blocks.append(block if isinstance(block, dict) else {"type": _get(block, "type")})
    return reply_text(blocks)


def _norm(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}{'?' + parts.query if parts.query else ''}"


def match_citations(text: str, retrieved: list[str]) -> str:
    """Rewrite cited URLs to the returned form they match after normalising."""
    known = {_norm(u): u for u in retrieved}
    return CITATION.sub(lambda m: f"([{m.group(1)}]({known.get(_norm(m.group(2)), m.group(2))}))",
                        text)


def parse_reply(text: str) -> tuple[dict[str, str], str | None]:
    """(fields, finding markdown or None when the reply has no FINDING block)."""
    fields = {m.group(1): m.group(2) for m in _FIELD.finditer(text)}
    match = _FINDING.search(text)
    finding = match.group(1).strip() if match else ""
    return fields, finding or None


def _choice(value: str, allowed, default: str) -> str:
    value = (value or "").strip().strip("*").strip()
    return next((a for a in allowed if a.lower() == value.lower()), default)


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
        try:
            completion = self.model.complete(question_prompt(question, context),
                                             stable=stable_prompt(context), tools=[self.tool()],
                                             max_tokens=MAX_TOKENS)
        except ModelError as exc:
            if not getattr(exc, "stop_reason", None):
                raise  # the API or the network failed: the run says so
            # a refusal or a cut reply: recorded as an empty attempt, with its cost
            return self.attempt(question, "", {}, 0, getattr(exc, "usage", None) or Usage(),
                                note=str(exc))
        content = completion.content or [
            b if isinstance(b, dict) else b.model_dump(mode="json", exclude_none=True)
            for b in getattr(completion.raw, "content", None) or []]
        titles, searches = search_results(content)
        searches = max(searches, completion.usage.web_searches)
        return self.attempt(question, cited_text(content) or completion.text, titles, searches,
                            completion.usage)

    def attempt(self, question: str, text: str, titles: dict[str, str], searches: int,
                usage: Usage, note: str = "reply had no FINDING block") -> Attempt:
        retrieved = list(titles)
        fields, finding = parse_reply(text)
        common = dict(retrieved=retrieved, labels=titles, search_count=searches, usage=usage,
                      synthesizer=self.spec)
        if finding is None:
            block = f"### {question}\n\n> The synthesiser's reply had no FINDING block.\n\n{LOW_FLAG}"
            return Attempt(question, block, section_for(question),
                           "No usable finding: the reply could not be read.", [], "LOW",
                           "partial", [], note=note, **common)
        finding = _HEADING.sub(r"#### \1", match_citations(finding, retrieved))
        cited = list(dict.fromkeys(t for _, t in CITATION.findall(finding)))
        gaps = [g.strip() for g in fields.get("GAPS", "").split("|") if g.strip().endswith("?")]
        return Attempt(
            question, f"### {question}\n\n{finding}",
            _choice(fields.get("SECTION", ""), WRITABLE, section_for(question)),
            fields.get("SUMMARY", "").strip() or question, cited,
            _choice(fields.get("CONFIDENCE", ""), ("HIGH", "MEDIUM", "LOW"), "LOW"),
            _choice(fields.get("STATUS", ""), ("answered", "partial", "conflicting"), "partial"),
            gaps, **common)
