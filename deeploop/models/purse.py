"""The dollar cap, kept before each call rather than after it.

A loop gives every model it uses one ``Purse``. Before a call the model
reserves the call's worst case (``pricing.worst_case_usd``); a call that
could take the spend past the cap is not made (``BudgetRefused``) and the
purse remembers why, so the loop can end ``budget_exhausted``. After a call
the model charges what the usage fields cost.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import BudgetRefused


@dataclass
class Purse:
    limit_usd: float
    spent_usd: float = 0.0
    refused: str | None = None   # why the last call was refused, if one was
    # told of every charge as it happens (spec, Usage): a loop journals it, so a
    # call whose result a kill loses is still counted on resume
    on_charge: Callable | None = None

    def reserve(self, worst_usd: float, spec: str) -> None:
        if self.spent_usd + worst_usd > self.limit_usd + 1e-12:
            self.refused = (f"dollar budget of ${self.limit_usd:g}: the next {spec} call could "
                            f"cost up to ${worst_usd:.4f} with ${self.spent_usd:.4f} spent")
            raise BudgetRefused(f"{spec}: call not made: {self.refused}", spec=spec)

    def charge(self, usd: float, spec: str = "", usage=None) -> None:
        self.spent_usd = round(self.spent_usd + usd, 9)
        if self.on_charge is not None and usage is not None:
            self.on_charge(spec, usage)


def attach(owner, purse: Purse | None) -> None:
    """Give ``purse`` to the model an owner (proposer, analyst, synthesiser,
    questioner) calls, when that model keeps one."""
    model = getattr(owner, "model", owner)
    if purse is not None and hasattr(model, "purse"):
        model.purse = purse


def purse_of(owner) -> Purse | None:
    """The purse the model an owner calls already has, if any."""
    return getattr(getattr(owner, "model", owner), "purse", None)
