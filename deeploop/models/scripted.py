"""A model that replays canned outputs, one per call: for tests and demos.

The file holds outputs separated by lines of exactly ``---``; a file with no
such line gives one output per non-empty line. After the last output the
model keeps repeating it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..fileio import read_text
from .base import Completion
from ..usage import Usage


@dataclass
class ScriptedModel:
    outputs: list[str]
    spec: str = "scripted:<inline>"
    calls: int = field(default=0, init=False)

    @classmethod
    def from_file(cls, path: str) -> "ScriptedModel":
        text = read_text(Path(path).expanduser(), "scripted model file")
        lines = text.splitlines()
        if any(line == "---" for line in lines):
            chunks, current = [], []
            for line in lines:
                if line == "---":
                    chunks.append("\n".join(current).strip("\n"))
                    current = []
                else:
                    current.append(line)
            chunks.append("\n".join(current).strip("\n"))
            outputs = [c for c in chunks if c.strip()]
        else:
            outputs = [line for line in lines if line.strip()]
        if not outputs:
            raise InputError(f"scripted model file has no outputs: {path}")
        return cls(outputs, spec=f"scripted:{path}")

    def complete(self, prompt: str, **kwargs) -> Completion:
        output = self.outputs[min(self.calls, len(self.outputs) - 1)]
        self.calls += 1
        return Completion(output, Usage(calls=1))
