"""A model writes the change: ``anthropic:<model>`` (or any Model adapter).

The prompt holds program.md, results.tsv, the git log, train.py and the
meta-analysis hypotheses the loop offers for this experiment: when it offers
some, the model is asked to test the first one it can and name its id; when
it offers none, the idea is the model's own.

A model that can call tools (Claude) is made to call ``propose_change``
(``replace.py``): exact old/new replacements of train.py, a description and
the hypothesis id. Its prompt is laid out for the prompt cache: program.md,
how to reply and train.py as it stood when the proposer started (cached,
rewritten only when program.md changes or the kept changes grow past a
quarter of the file), then results.tsv one row per block (cached but for the
newest row), then what changes: the kept changes as a diff, the git log,
the hypotheses offered and the task. Other models (``command:``, ``scripted:``) keep the text
path, the ``build_prompt`` the ``command:`` proposer uses too: a description
plus a whole file or a unified diff.

A reply that cannot be used is retried once with the problem stated; a
second bad reply, or a model error (a refusal, a reply cut at max_tokens, a
call the dollar cap forbids), becomes a failed proposal that the loop
records. A rejected API key ends the run. Usage (tokens, dollars) is summed
over every call, failed ones included.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ...errors import KeyRejected, ModelError
from ..hypotheses import find_tagged
from ...models.base import Model
from ...usage import Usage
from ..results import HEADER, Results, format_row
from .base import Proposal, ProposalContext, failed
from .edits import ReplyError, parse_reply
from .replace import FORCE_TOOL, PROPOSE_TOOL, TOOL_NAME, apply_replacements, read_tool_reply

MAX_TOKENS = 16000  # a whole train.py fits with room to spare
TOOL_MAX_TOKENS = 4000  # replacements are short
MAX_ROWS = 40

SYSTEM = ("You are an autonomous ML researcher running one experiment of a loop that "
          "trains a small byte-level GPT for a fixed wall-clock budget and keeps a change "
          "only if it lowers val_bpb. Be concrete; change one idea at a time.")

REPLY_FORMAT = """Reply with exactly:
DESCRIPTION: <one line; for hyperparameter changes write NAME old -> new, e.g. LR 0.003 -> 0.0045>
followed by EITHER a ```python block holding the complete new train.py
OR a ```diff block holding a unified diff of train.py (---/+++ train.py, @@ hunks)."""

AGENT_FORMAT = """Edit train.py in place in the current folder. Do not change any other file and
do not commit. When you are done, print one final line:
DESCRIPTION: <one line; for hyperparameter changes write NAME old -> new>"""

TAG_RULE = ("End the description with the tag of the hypothesis your change tests, "
            "for example [{label}].")


def results_table(results: Results, limit: int = MAX_ROWS) -> str:
    rows = results.rows[-limit:]
    header = list(HEADER)
    lines = ["\t".join(header)] + [format_row(r, header) for r in rows]
    skipped = len(results.rows) - len(rows)
    return (f"({skipped} earlier rows not shown)\n" if skipped else "") + "\n".join(lines)


def offer(context: ProposalContext, ask: str = "") -> list[str]:
    """The meta-analysis' hypotheses on offer, best first (nothing when none)."""
    if not context.pending:
        return []
    return ["## Hypotheses to test in this experiment (from the meta-analysis, best first): "
            f"test the first one you can apply to this train.py{ask}",
            "\n".join(h.describe() for h in context.pending[:5])]


def task(context: ProposalContext) -> str:
    return (f"This is experiment {context.experiment}. Propose ONE change to train.py that is "
            "likely to lower val_bpb within the same training budget. Keep the imports from "
            "deeploop.experiment, the evaluation call and the summary block as they are.")


def build_prompt(context: ProposalContext, agent: bool = False) -> str:
    parts = ["## program.md (strategy)", context.program_md.strip() or "(empty)",
             "## Results so far (results.tsv, oldest first)", results_table(context.results),
             "## Recent commits (git log --oneline -20)", context.git_log.strip() or "(none)"]
    parts += offer(context)
    parts += ["## train.py (the only file you may change)",
              f"```python\n{context.train_py.rstrip()}\n```",
              "## Your task", task(context),
              AGENT_FORMAT if agent else REPLY_FORMAT]
    if context.pending:
        parts.append(TAG_RULE.format(label=context.pending[0].label))
    return "\n\n".join(parts) + "\n"


TOOL_FORMAT = (f"Reply by calling {TOOL_NAME}: a one-line description (for hyperparameter "
               "changes NAME old -> new, e.g. LR 0.003 -> 0.0045), the id of the hypothesis "
               "you test (empty for your own idea) and exact old/new replacements of "
               "train.py, each 'old' copied from train.py above and occurring once.")


REBASE_AT = 0.25  # rebase when the kept changes touch a quarter of train.py's lines
HISTORY_ROWS = 200


def stable_prompt(context: ProposalContext, base_train_py: str) -> str:
    """What stays the same from one experiment to the next: program.md, how
    to reply, and train.py as it stood when this proposer started (or last
    rebased). The cached prefix; kept changes since then come as a diff."""
    return "\n\n".join([
        "## program.md (strategy)", context.program_md.strip() or "(empty)",
        "## How to reply", TOOL_FORMAT,
        "## train.py at the start of this session (the only file you may change; the changes "
        "kept since are given below as a diff)",
        f"```python\n{base_train_py.rstrip()}\n```"]) + "\n"


def history_blocks(context: ProposalContext) -> list[str]:
    """results.tsv as append-only blocks (the header, then one per row), so
    every call reads the rows it has seen before from the cache."""
    rows = context.results.rows[-HISTORY_ROWS:]
    header = list(HEADER)
    skipped = len(context.results.rows) - len(rows)
    first = ("## Results so far (results.tsv, oldest first)\n"
             + (f"({skipped} earlier rows not shown)\n" if skipped else "") + "\t".join(header))
    return [first] + [format_row(r, header) for r in rows]


def kept_changes(base: str, current: str) -> str:
    if base == current:
        return "(none: train.py is as shown above)"
    diff = difflib.unified_diff(base.splitlines(keepends=True), current.splitlines(keepends=True),
                                "train.py (above)", "train.py (now)", n=2)
    return "```diff\n" + "".join(diff).rstrip("\n") + "\n```"


def changing_prompt(context: ProposalContext, base_train_py: str) -> str:
    """What changes every experiment: kept changes, the log, the offer, the task."""
    parts = ["## Changes kept since the start of this session (train.py now = the file above "
             "with this diff applied; your replacements apply to train.py now)",
             kept_changes(base_train_py, context.train_py),
             "## Recent commits (git log --oneline -20)", context.git_log.strip() or "(none)"]
    parts += offer(context, " and give its id")
    parts += ["## Your task", f"{task(context)} Call {TOOL_NAME}."]
    return "\n\n".join(parts) + "\n"


def needs_rebase(base: str | None, current: str) -> bool:
    """Whether the cached base is too far from train.py now to be worth a diff."""
    if base is None:
        return True
    changed = sum(1 for line in difflib.ndiff(base.splitlines(), current.splitlines())
                  if line[:1] in "+-")
    return changed > REBASE_AT * max(len(current.splitlines()), 1)


def retry_prompt(prompt: str, problem: str) -> str:
    return (prompt + f"\n\nYour previous reply could not be used: {problem}. "
            "Reply again, in exactly the format above.\n")


def tested_hypothesis(description: str, context: ProposalContext):
    """The offered hypothesis the reply's tag names; a tag for one that was not
    offered names nothing (the loop records it as the model's own idea)."""
    return find_tagged(description, context.pending)


@dataclass
class LLMProposer:
    model: Model
    attempts: int = 2  # the first reply and one retry
    # train.py as the cached prefix shows it; kept changes since go as a diff
    base_train_py: str | None = field(default=None, repr=False)

    @property
    def spec(self) -> str:
        return self.model.spec

    @property
    def structured(self) -> bool:
        """Whether the model answers forced tool calls (Claude does)."""
        return bool(getattr(self.model, "supports_tools", False))

    def propose(self, context: ProposalContext) -> Proposal:
        if self.structured:
            return self.propose_with_tool(context)
        return self.propose_with_text(context)

    def propose_with_tool(self, context: ProposalContext) -> Proposal:
        if needs_rebase(self.base_train_py, context.train_py):
            self.base_train_py = context.train_py
        base = self.base_train_py
        stable, prompt = stable_prompt(context, base), changing_prompt(context, base)
        history = history_blocks(context)
        usage, problem = Usage(), ""
        for attempt in range(1, self.attempts + 1):
            ask = prompt if attempt == 1 else retry_prompt(prompt, problem)
            try:
                completion = self.model.complete(ask, system=SYSTEM, stable=stable,
                                                 history=history, max_tokens=TOOL_MAX_TOKENS,
                                                 tools=[PROPOSE_TOOL], tool_choice=FORCE_TOOL)
            except KeyRejected:
                raise  # no later call can work: the run ends failed
            except ModelError as exc:
                usage = usage + (getattr(exc, "usage", None) or Usage())
                if getattr(exc, "stop_reason", None) == "max_tokens" and attempt < self.attempts:
                    problem = "it was cut at max_tokens; send fewer, shorter replacements"
                    continue  # a cut reply is never used, but it may be asked for again
                return failed(str(exc), usage, attempt)
            usage = usage + completion.usage
            try:
                description, hypothesis_id, edits = read_tool_reply(completion.tool_input)
                train_py = apply_replacements(context.train_py, edits)
            except ReplyError as exc:
                problem = str(exc)
                continue
            hypothesis = find_tagged(f"[{hypothesis_id}]", context.pending) \
                if hypothesis_id else None
            return Proposal(train_py, description, hypothesis=hypothesis, usage=usage,
                            attempts=attempt, notes={"edit": "replace", "edits": len(edits)})
        return failed(f"reply did not fit the {TOOL_NAME} schema twice: {problem}", usage,
                      self.attempts)

    def propose_with_text(self, context: ProposalContext) -> Proposal:
        prompt = build_prompt(context)
        usage, problem = Usage(), ""
        for attempt in range(1, self.attempts + 1):
            ask = prompt if attempt == 1 else retry_prompt(prompt, problem)
            try:
                completion = self.model.complete(ask, system=SYSTEM, max_tokens=MAX_TOKENS)
            except KeyRejected:
                raise
            except ModelError as exc:
                return failed(str(exc), usage + (getattr(exc, "usage", None) or Usage()),
                              attempt)
            usage = usage + completion.usage
            try:
                edit = parse_reply(completion.text, context.train_py)
            except ReplyError as exc:
                problem = str(exc)
                continue
            return Proposal(edit.train_py, edit.description,
                            hypothesis=tested_hypothesis(edit.description, context),
                            usage=usage, attempts=attempt, notes={"edit": edit.kind})
        return failed(f"malformed reply twice: {problem}", usage, self.attempts)
