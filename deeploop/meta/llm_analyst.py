"""A model does the analysis: ``anthropic:<model>`` (or any Model adapter).

The prompt holds the same inputs the offline analyst reads (results.tsv,
the statistics computed from it, earlier hypotheses with their verdicts,
``git log --oneline -20``, the hyperparameters and the last 60 lines of
train.py, program.md, the tail of process_log.md). The reply must carry
four delimited blocks: ``<hypotheses>`` (exactly five, each with change,
expected direction and confidence), ``<strategy>``, ``<process_log>`` and
``<commit_message>``.

A model that can call tools (Claude) is made to call ``record_analysis``
instead (``ANALYSIS_TOOL``): exactly five hypotheses with a confidence from
HIGH/MEDIUM/LOW, the strategy, what worked, what did not, the strategy
change and the commit message. A reply that does not fit is asked for once
more with the problem stated.

A reply that still does not fit, or a model error, changes nothing of what
the model said: a warning is logged and the offline analyst does the
analysis, the ``fallback`` field saying why. A rejected API key ends the run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DeeploopError, KeyRejected, ModelError
from ..experiment.knobs import format_value
from ..experiment.proposers.llm import results_table
from ..models.base import Model
from ..usage import Usage
from .analysts import Analysis
from ..experiment.hypotheses import CONFIDENCE, COUNT, Hypothesis, parse_hypotheses
from .inputs import MetaInputs
from .offline_analyst import OfflineAnalyst
from .outputs import metrics_table, verdict_table
from .stats import crash_values, effects, near_misses

BLOCKS = ("hypotheses", "strategy", "process_log", "commit_message")
MAX_TOKENS = 4000
_CONFIDENCE = re.compile(r"Confidence\**\s*:\s*\**\s*(HIGH|MEDIUM|LOW)\b", re.I)

SYSTEM = ("You are the meta-analysis tier of an autonomous ML research loop. Every experiment "
          "changes train.py, trains a small byte-level GPT for a fixed wall-clock budget and is "
          "kept only if val_bpb (lower is better) beats the best. You step back, read the whole "
          "history, say what works, and choose what the next experiments test.")

FORMAT = """Reply with exactly these four blocks, nothing else required:
<hypotheses>
1. Change: KNOB old -> new   (several joined by "; "; free text only for non-hyperparameter ideas)
   Expected: <direction and rough size, e.g. lower val_bpb by ~0.5 %>
   Confidence: HIGH|MEDIUM|LOW — <why, citing the numbers>
2. ...   (exactly 5, best first)
</hypotheses>
<strategy>
<the new "Current Strategy" section of program.md, markdown, no heading>
</strategy>
<process_log>
**What worked:** ...
**What didn't work:** ...
**Strategy change:** ...
</process_log>
<commit_message>
meta: <one line>
</commit_message>"""


TOOL_NAME = "record_analysis"
_LIST = {"type": "array", "items": {"type": "string"}}
ANALYSIS_TOOL = {
    "name": TOOL_NAME,
    "description": "Record the meta-analysis: five ranked hypotheses, the new strategy and "
                   "the process-log findings.",
    "input_schema": {
        "type": "object",
        "properties": {
            "hypotheses": {
                "type": "array", "minItems": COUNT, "maxItems": COUNT,
                "description": "Exactly five, best first; the first is tested next.",
                "items": {"type": "object", "properties": {
                    "change": {"type": "string", "description":
                               "KNOB old -> new (several joined by '; '); free text only for "
                               "non-hyperparameter ideas"},
                    "expected": {"type": "string", "description": "direction and rough size"},
                    "confidence": {"type": "string", "enum": list(CONFIDENCE)},
                    "reason": {"type": "string", "description": "why, citing the numbers"}},
                    "required": ["change", "expected", "confidence", "reason"],
                    "additionalProperties": False}},
            "strategy": {"type": "string", "description":
                         "The new Current Strategy section of program.md, markdown, no heading"},
            "what_worked": _LIST, "what_did_not_work": _LIST, "strategy_change": _LIST,
            "commit_message": {"type": "string", "description": "one line starting 'meta:'"},
        },
        "required": ["hypotheses", "strategy", "what_worked", "what_did_not_work",
                     "strategy_change", "commit_message"],
        "additionalProperties": False,
    },
}
FORCE_TOOL = {"type": "tool", "name": TOOL_NAME}


class ReplyProblem(DeeploopError):
    """A reply that cannot be used as it stands."""


def block(text: str, name: str) -> str | None:
    match = re.search(rf"<{name}>\s*(.*?)\s*</{name}>", text or "", re.S | re.I)
    return match.group(1).strip() if match and match.group(1).strip() else None


def parse_reply(text: str, number: int) -> tuple[list[Hypothesis], str, str, str]:
    """(hypotheses, strategy, process-log text, commit message) or ReplyProblem."""
    found = {name: block(text, name) for name in BLOCKS}
    missing = [name for name, body in found.items() if body is None]
    if missing:
        raise ReplyProblem(f"reply has no <{missing[0]}> block")
    items = parse_hypotheses(found["hypotheses"])
    if [h.rank for h in items] != list(range(1, COUNT + 1)):
        raise ReplyProblem(f"<hypotheses> must rank exactly {COUNT}, got ranks "
                           f"{[h.rank for h in items]}")
    if len(_CONFIDENCE.findall(found["hypotheses"])) != COUNT:
        raise ReplyProblem("every hypothesis needs 'Confidence: HIGH|MEDIUM|LOW'")
    if any(not h.change.strip() or not h.expected.strip() for h in items):
        raise ReplyProblem("every hypothesis needs a Change and an Expected line")
    hypotheses = [Hypothesis(f"M{number}.{h.rank}", h.rank, h.change, h.expected, h.confidence,
                             h.reason) for h in items]
    return hypotheses, found["strategy"], found["process_log"], found["commit_message"]


def read_tool_reply(data, number: int, spec: str) -> Analysis:
    """The analysis a ``record_analysis`` call holds, or ReplyProblem. Pure."""
    if not isinstance(data, dict):
        raise ReplyProblem(f"the reply did not call {TOOL_NAME}")
    items = data.get("hypotheses")
    if not isinstance(items, list) or len(items) != COUNT:
        raise ReplyProblem(f"'hypotheses' must hold exactly {COUNT} items, got "
                           f"{len(items) if isinstance(items, list) else 'none'}")
    hypotheses = []
    for rank, item in enumerate(items, 1):
        item = item if isinstance(item, dict) else {}
        change, expected = str(item.get("change") or "").strip(), \
            str(item.get("expected") or "").strip()
        confidence = str(item.get("confidence") or "").strip().upper()
        if not change or not expected:
            raise ReplyProblem(f"hypothesis {rank} needs a change and an expected effect")
        if confidence not in CONFIDENCE:
            raise ReplyProblem(f"hypothesis {rank}: confidence must be one of "
                               f"{', '.join(CONFIDENCE)}, got {confidence or 'nothing'!r}")
        hypotheses.append(Hypothesis(f"M{number}.{rank}", rank, change, expected, confidence,
                                     str(item.get("reason") or "").strip()))
    strategy = str(data.get("strategy") or "").strip()
    if not strategy:
        raise ReplyProblem("the reply has no strategy")

    def strings(key):
        value = data.get(key)
        return [str(v).strip() for v in value if str(v).strip()] \
            if isinstance(value, list) else []

    commit = " ".join(str(data.get("commit_message") or "").split()) or "rewrite strategy"
    if not commit.startswith("meta:"):
        commit = "meta: " + commit
    return Analysis(hypotheses, strategy, strings("what_worked"), strings("what_did_not_work"),
                    strings("strategy_change"), commit, spec)


def statistics_text(inputs: MetaInputs) -> str:
    lines = metrics_table(inputs) + ["", "Per knob and direction (gain is relative, + is better):"]
    lines += [f"- {e.describe()} (certainty {e.certainty()})"
              for e in effects(inputs.records).values()] or ["- (no readable knob changes)"]
    misses = near_misses(inputs.records)
    if misses:
        lines += ["Near misses since the last keep: " + ", ".join(
            f"{r.moves[0]} ({100 * r.gain:+.2f} %)" for r in misses[:5])]
    crashed = crash_values(inputs.records)
    if crashed:
        lines += ["Crashed values: " + ", ".join(
            f"{knob} {'up' if d > 0 else 'down'} to {vals}" for (knob, d), vals in crashed.items())]
    return "\n".join(lines)


def build_prompt(inputs: MetaInputs, structured: bool = False) -> str:
    knobs = "\n".join(f"{k} = {format_value(v)}" for k, v in inputs.knobs.items())
    parts = [f"# Meta-analysis {inputs.number} of {inputs.source or 'an experiment run'}",
             "## results.tsv (oldest first)", results_table(inputs.results, limit=200),
             "## Statistics computed from results.tsv", statistics_text(inputs),
             "## Earlier hypotheses and what became of them", "\n".join(
                 [h.describe() for h in inputs.previous] + verdict_table(inputs)),
             "## git log --oneline -20", inputs.git_log.strip() or "(none)",
             "## Hyperparameters now", knobs or "(unknown)",
             "## train.py (last 60 lines)", f"```python\n{inputs.train_tail.rstrip()}\n```",
             "## program.md", inputs.program_md.strip() or "(none)",
             "## process_log.md (tail)", inputs.process_log_tail.strip() or "(none)",
             "## Your task",
             "Find what works and what does not, then write exactly five ranked hypotheses "
             "for the next experiments (the first is tested next), a new strategy, a "
             "process-log entry and a commit message. Use the exact hyperparameter names and "
             "current values above so the changes can be applied as written.",
             f"Call {TOOL_NAME}." if structured else FORMAT]
    return "\n\n".join(parts) + "\n"


@dataclass
class LLMAnalyst:
    model: Model

    @property
    def spec(self) -> str:
        return self.model.spec

    attempts: int = 2  # the first reply and one retry (structured replies)

    def analyse(self, inputs: MetaInputs) -> Analysis:
        if getattr(self.model, "supports_tools", False):
            return self.analyse_with_tool(inputs)
        return self.analyse_with_text(inputs)

    def analyse_with_tool(self, inputs: MetaInputs) -> Analysis:
        stable, usage, problem = build_prompt(inputs, structured=True), Usage(), ""
        for attempt in range(1, self.attempts + 1):
            ask = (f"Call {TOOL_NAME} with your analysis." if attempt == 1 else
                   f"Your previous reply could not be used: {problem}. Call {TOOL_NAME} again.")
            try:
                completion = self.model.complete(ask, system=SYSTEM, stable=stable,
                                                 max_tokens=MAX_TOKENS, tools=[ANALYSIS_TOOL],
                                                 tool_choice=FORCE_TOOL)
            except KeyRejected:
                raise
            except ModelError as exc:
                return self.fall_back(inputs, str(exc),
                                      usage + (getattr(exc, "usage", None) or Usage()))
            usage = usage + completion.usage
            try:
                analysis = read_tool_reply(completion.tool_input, inputs.number, self.spec)
            except ReplyProblem as exc:
                problem = str(exc)
                continue
            analysis.usage = usage
            return analysis
        return self.fall_back(inputs, f"reply did not fit the {TOOL_NAME} schema twice: "
                                      f"{problem}", usage)

    def analyse_with_text(self, inputs: MetaInputs) -> Analysis:
        usage = Usage()
        try:
            completion = self.model.complete(build_prompt(inputs), system=SYSTEM,
                                             max_tokens=MAX_TOKENS)
            usage = completion.usage
            hypotheses, strategy, narrative, commit = parse_reply(completion.text, inputs.number)
        except KeyRejected:
            raise
        except (ModelError, ReplyProblem) as exc:  # a failed call's cost is kept too
            return self.fall_back(inputs, str(exc), getattr(exc, "usage", None) or usage)
        return Analysis(hypotheses, strategy, [], [], [], commit, self.spec,
                        narrative=narrative, usage=usage)

    def fall_back(self, inputs: MetaInputs, why: str, usage: Usage) -> Analysis:
        analysis = OfflineAnalyst().analyse(inputs)
        analysis.analyst, analysis.fallback, analysis.usage = self.spec, why, usage
        return analysis
