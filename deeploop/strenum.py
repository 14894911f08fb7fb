"""StrEnum: an enum whose members are strings and print as their value.

The standard library's ``enum.StrEnum`` does this from Python 3.11; deeploop
still runs on 3.10, so the states it writes to files (run status, a drill
answer's kind, a results.tsv row's status, a headless session's state) use
this one class instead of each repeating ``__str__``.
"""
from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    def __str__(self) -> str:
        return self.value
