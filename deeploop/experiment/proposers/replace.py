"""Edits as exact replacements: the structured proposer's reply format.

A model that can call tools answers the ``propose_change`` tool with a
description, the id of the hypothesis it tests and a list of ``{old, new}``
replacements of train.py. Each ``old`` must occur exactly once in the file
as it stands after the replacements before it; anything else is a
``ReplyError`` saying what was wrong, so the model can be asked once more.
About 20 times fewer output tokens than writing the whole file back.
"""
from __future__ import annotations

from .edits import ReplyError

TOOL_NAME = "propose_change"
MAX_EDITS = 20

PROPOSE_TOOL = {
    "name": TOOL_NAME,
    "description": "Propose ONE change to train.py as exact text replacements.",
    "input_schema": {
        "type": "object",
        "properties": {
            "description": {
                "type": "string",
                "description": "One line; for hyperparameter changes NAME old -> new, "
                               "e.g. LR 0.003 -> 0.0045."},
            "hypothesis": {
                "type": "string",
                "description": "The id of the offered hypothesis this change tests "
                               "(e.g. M2.1), or an empty string for your own idea."},
            "edits": {
                "type": "array", "minItems": 1, "maxItems": MAX_EDITS,
                "description": "Replacements applied in order to train.py.",
                "items": {
                    "type": "object",
                    "properties": {
                        "old": {"type": "string", "description":
                                "Exact text of train.py, occurring exactly once; include "
                                "enough surrounding lines to make it unique."},
                        "new": {"type": "string", "description": "The text that replaces it."},
                    },
                    "required": ["old", "new"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["description", "hypothesis", "edits"],
        "additionalProperties": False,
    },
}
FORCE_TOOL = {"type": "tool", "name": TOOL_NAME}


def apply_replacements(source: str, edits) -> str:
    """``source`` with every ``{old, new}`` applied in order, or a ReplyError. Pure."""
    if not isinstance(edits, list) or not edits:
        raise ReplyError("the reply has no edits")
    for number, edit in enumerate(edits, 1):
        old = edit.get("old") if isinstance(edit, dict) else None
        new = edit.get("new") if isinstance(edit, dict) else None
        if not isinstance(old, str) or not isinstance(new, str) or not old:
            raise ReplyError(f"edit {number} needs a non-empty 'old' and a 'new' string")
        count = source.count(old)
        if count == 0:
            raise ReplyError(f"edit {number}: its 'old' text is not in train.py "
                             f"(starts {old.strip()[:60]!r})")
        if count > 1:
            raise ReplyError(f"edit {number}: its 'old' text occurs {count} times in train.py; "
                             "include more lines to make it unique")
        source = source.replace(old, new, 1)
    return source


def read_tool_reply(data) -> tuple[str, str, list]:
    """(description, hypothesis id, edits) from the tool input, or a ReplyError."""
    if not isinstance(data, dict):
        raise ReplyError(f"the reply did not call {TOOL_NAME}")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ReplyError("the reply has no description")
    hypothesis = data.get("hypothesis") or ""
    if not isinstance(hypothesis, str):
        raise ReplyError("'hypothesis' must be a string")
    return " ".join(description.split()), hypothesis.strip().strip("[]"), data.get("edits")
