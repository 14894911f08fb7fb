"""Questioners: one question per round about the active claim.

``offline`` (the default) is a deterministic pressure ladder: the active
claim's depth picks the first rung (why → what evidence → what would make it
false → what decision, rule or value is behind it → is that bedrock?), and a
rung whose question was already asked on the chain is skipped, so a question
is never repeated. Model questioners (``anthropic:``, ``command:``, ``mock:``,
``scripted:``, or ``model`` for the node's default_model) see only PROMPT.md,
the lessons and the numbered ancestor chain, never siblings; their output is
cut to its first question line and the raw size is kept for the judge. A
model that can call tools (Claude) is made to call ``ask_question`` with the
one question (its system prompt, PROMPT.md and BANS.md, is the cached
prefix); a reply without a question is retried once by the drill.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from ..errors import InputError
from ..models import Model, get_model
from ..registry import Registry, with_arg
from .judge import MAX_QUESTION_CHARS
from .node import DeeperNode
from .replies import EmptyReply, Question, first_question_line, nonempty_lines, numbered_chain

LADDER = (
    "Why does “{c}” hold?",
    "What evidence shows that “{c}”?",
    "What would make “{c}” false?",
    "What decision, rule or value is behind “{c}”?",
    "Is “{c}” bedrock, or is there a deeper reason?",
)
# For a claim that is itself a question (often the seed), the rungs ask about it.
QUESTION_LADDER = (
    "{c}",
    "What evidence would settle “{c}”?",
    "Which answer to “{c}” would you rule out first?",
    "What decision, rule or value makes “{c}” worth asking?",
    "Is “{c}” already settled by a choice no further why can move?",
)
LESSONS_HEADING = "## Accumulated lessons (BANS.md)"
MAX_TOKENS = 1024
ASK_TOOL = {
    "name": "ask_question",
    "description": "Ask the one question that drills into the active claim.",
    "input_schema": {
        "type": "object",
        "properties": {"question": {
            "type": "string", "maxLength": MAX_QUESTION_CHARS,
            "description": "exactly one question, one line, about the active claim"}},
        "required": ["question"], "additionalProperties": False},
}


class Questioner(Protocol):
    spec: str

    def ask(self, chain: list[str], asked: list[str]) -> Question: ...


def _fit(template: str, claim: str) -> str:
    """Fill a rung, shortening the claim so the question stays within 250 characters."""
    claim = " ".join(claim.replace("“", '"').replace("”", '"').split())
    room = MAX_QUESTION_CHARS - len(template.replace("{c}", ""))
    if len(claim) > room:
        claim = claim[:room - 1].rstrip() + "…"
    return template.replace("{c}", claim)


def ladder_question(chain: list[str], asked: list[str] | set[str]) -> str:
    """Pure: the offline question for the last claim of ``chain``."""
    if not chain:
        raise InputError("no active claim to ask about")
    claim, depth = chain[-1], len(chain) - 1
    ladder = QUESTION_LADDER if claim.rstrip().endswith(("?", "？")) else LADDER
    start = min(depth, len(ladder) - 1)
    seen = set(asked)
    for step in range(len(ladder)):
        question = _fit(ladder[(start + step) % len(ladder)], claim)
        if question not in seen:
            return question
    attempt = 2
    while True:  # every rung was asked: number the plain why so it stays new
        question = _fit(f"Why, in one sentence, does “{{c}}” hold (ask {attempt})?", claim)
        if question not in seen:
            return question
        attempt += 1


@dataclass
class OfflineQuestioner:
    spec: str = "offline"

    def ask(self, chain: list[str], asked: list[str]) -> Question:
        text = ladder_question(chain, asked)
        return Question(text, raw_chars=len(text), raw_lines=1, questioner=self.spec)


@dataclass
class ModelQuestioner:
    model: Model
    node: DeeperNode
    spec: str = field(init=False)

    def __post_init__(self):
        self.spec = self.model.spec

    def system_prompt(self) -> str:
        bans = self.node.bans().strip() or "(none yet)"
        return f"{self.node.prompt().rstrip()}\n\n{LESSONS_HEADING}\n{bans}\n"

    def user_prompt(self, chain: list[str]) -> str:
        return ("## ANCESTOR CHAIN (root → active claim)\n" + numbered_chain(chain)
                + "\n\n## ACTIVE CLAIM\n" + chain[-1].strip()
                + "\n\nAsk exactly one question that drills into the active claim.\n")

    def ask(self, chain: list[str], asked: list[str]) -> Question:
        if getattr(self.model, "supports_tools", False):
            completion = self.model.complete(
                self.user_prompt(chain) + f"Call {ASK_TOOL['name']}.\n",
                system=self.system_prompt(), max_tokens=MAX_TOKENS, tools=[ASK_TOOL],
                tool_choice={"type": "tool", "name": ASK_TOOL["name"]})
            asked_for = (completion.tool_input or {}).get("question")
            raw = asked_for.strip() if isinstance(asked_for, str) else ""
        else:
            completion = self.model.complete(self.user_prompt(chain),
                                             system=self.system_prompt(), node="deeper")
            raw = completion.text or ""
        question = first_question_line(raw)
        if not question:
            raise EmptyReply(f"questioner {self.spec} returned nothing", spec=self.spec)
        return Question(question, raw_chars=len(raw.strip()),
                        raw_lines=len(nonempty_lines(raw)), usage=completion.usage,
                        questioner=self.spec)


_QUESTIONERS: Registry[Callable[[str, DeeperNode], Questioner]] = Registry(
    "questioner", lambda name: name)
MODEL_SCHEMES = ("anthropic", "command", "mock", "scripted")
# add a questioner kind: ``factory(arg, node)`` gets what follows ``name:``
register_questioner = _QUESTIONERS.register


def get_questioner(spec: str | Questioner | None, node: DeeperNode) -> Questioner:
    if spec is None:
        return OfflineQuestioner()
    if not isinstance(spec, str):
        return spec
    name, _, arg = spec.partition(":")
    if name in _QUESTIONERS:
        return _QUESTIONERS.get(name, spec)(arg, node)
    models = ", ".join(with_arg(scheme) for scheme in MODEL_SCHEMES)
    raise _QUESTIONERS.unknown(spec, f"{_QUESTIONERS.listing()}, {models}")


def _model_questioner(scheme: str) -> Callable[[str, DeeperNode], Questioner]:
    return lambda arg, node: ModelQuestioner(get_model(f"{scheme}:{arg}"), node)


def _default_model(arg: str, node: DeeperNode) -> Questioner:
    spec = arg or node.setting("default_model")
    if not spec:
        raise InputError("questioner 'model' needs default_model in nodes/deeper/node.toml")
    return ModelQuestioner(get_model(spec), node)


register_questioner("offline", lambda arg, node: OfflineQuestioner())
register_questioner("model", _default_model)
for _scheme in MODEL_SCHEMES:
    register_questioner(_scheme, _model_questioner(_scheme))
