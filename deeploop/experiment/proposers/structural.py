"""Structural edits: known-good changes to the template's code, not its knobs.

When knob moves stall, the offline proposer tries one of these: a real edit
of train.py (how the count log-probs are mixed, where the window counts start,
the MLP's activation, the schedule's shape, ...), written as exact
``{old, new}`` replacements and applied with ``replace.apply_replacements``
(the structured proposer's format), so an edit that no longer matches the
file (the agent changed it, or it is already in) is skipped, never half
applied. The loop keeps or discards it like any other experiment.

Descriptions read ``EDIT <name>: <what>``, so the history says which edits were
measured (and knob parsing finds no ``NAME old -> new`` in them).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .edits import ReplyError
from .replace import apply_replacements

PREFIX = "EDIT "
_NAMED = re.compile(r"^\s*EDIT ([a-z0-9-]+):")


@dataclass(frozen=True)
class StructuralEdit:
    name: str
    what: str                               # one line: what it changes and why it may help
    replacements: tuple[tuple[str, str], ...]

    @property
    def description(self) -> str:
        return f"{PREFIX}{self.name}: {self.what}"

    def apply(self, source: str) -> str | None:
        """The edited train.py, or None when the edit does not apply to ``source``."""
        try:
            return apply_replacements(source, [{"old": o, "new": n} for o, n in self.replacements])
        except ReplyError:
            return None


LIBRARY = (
    StructuralEdit(
        "mix-reads-counts",
        "the mixer's weights also read the count features (confidence-gated mixing, as in "
        "context mixing)",
        (("        nn.init.zeros_(self.mix.weight)\n",
          "        nn.init.zeros_(self.mix.weight)\n"
          "        self.mix_counts = nn.Linear(2 * MIXED, MIXED, bias=False)  # gates from counts\n"
          "        nn.init.zeros_(self.mix_counts.weight)\n"),
         ('torch.einsum("btk,kbtv->btv", self.mix(x / WIDTH), logp)',
          'torch.einsum("btk,kbtv->btv", self.mix(x / WIDTH) '
          '+ self.mix_counts(feats[:, -keep:] / WIDTH), logp)'))),
    StructuralEdit(
        "mix-softmax",
        "the count log-probs are mixed with softmax weights (a normalised geometric mixture)",
        (('torch.einsum("btk,kbtv->btv", self.mix(x / WIDTH), logp)',
          'torch.einsum("btk,kbtv->btv", self.mix(x / WIDTH).softmax(-1), logp)'),)),
    StructuralEdit(
        "window-from-uniform",
        "window counts start from a uniform prior instead of the tables' blend (an "
        "independent document model for the mixer)",
        (("s < t\n    for k, n in enumerate(WINDOW_ORDERS, len(tables)):\n",
          "s < t\n    p = torch.full_like(p, 1.0 / VOCAB)  # the window's own chain\n"
          "    for k, n in enumerate(WINDOW_ORDERS, len(tables)):\n"),)),
    StructuralEdit(
        "mlp-gelu",
        "GELU in the MLP instead of squared ReLU",
        (("return x + self.out(F.relu(self.fc(rms_norm(x))).square())",
          "return x + self.out(F.gelu(self.fc(rms_norm(x))))"),)),
    StructuralEdit(
        "no-smear",
        "drop the previous-position smear gate (a cheaper step)",
        (("        x = x + torch.sigmoid(self.smear) * F.pad(x[:, :-1], (0, 0, 1, 0))\n", ""),)),
    StructuralEdit(
        "cosine-warmdown",
        "the learning rate decays along a half cosine instead of a straight line",
        (("else 1.0\n    return cooldown + (1.0 - cooldown) * FINAL_LR_FRAC\n",
          "else 1.0\n    cooldown = 0.5 - 0.5 * math.cos(math.pi * cooldown)  # a half cosine\n"
          "    return cooldown + (1.0 - cooldown) * FINAL_LR_FRAC\n"),)),
)


def edit_name(description: str) -> str | None:
    """The structural edit a results row measured, from its description."""
    match = _NAMED.match(description or "")
    return match.group(1) if match else None


def next_edit(source: str, tried: set[str], library=LIBRARY) -> tuple[StructuralEdit, str] | None:
    """The first edit of ``library`` not yet tried that applies to ``source``,
    with the edited source; None when none is left."""
    for edit in library:
        if edit.name in tried:
            continue
        new = edit.apply(source)
        if new is not None and new != source:
            return edit, new
    return None
