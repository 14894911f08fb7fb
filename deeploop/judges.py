"""Judges: score a round's output and list rule violations.

Two kinds plug into the loop:

- ``judge.py`` exposing ``judge(output, context)`` that returns a Verdict, a
  dict ``{"score", "violations", "detail"}`` or a tuple
  ``(score, violations, detail)``; the loop records the ``judge_result`` event.
- an executable ``judge.sh`` following the reference contract: called as
  ``judge.sh <run-dir> <round>``, it appends one ``judge_result`` line to the
  run's events.jsonl itself; the loop reads that line back.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import InputError, JudgeError
from .childenv import child_env
from .events import EVENTS_FILE, EventLog, read_events
from . import procs


@dataclass
class Verdict:
    score: float
    violations: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)


@dataclass
class JudgeContext:
    node: str
    run_dir: Path
    round: int
    seed: str
    state: str


def as_verdict(value, source: str) -> Verdict:
    """Accept the shapes a judge may return; refuse anything else clearly."""
    if isinstance(value, Verdict):
        verdict = value
    elif isinstance(value, dict):
        verdict = Verdict(value.get("score"), value.get("violations") or [],
                          value.get("detail") or {})
    elif isinstance(value, (tuple, list)) and len(value) in (2, 3):
        verdict = Verdict(value[0], list(value[1]), dict(value[2]) if len(value) == 3 else {})
    else:
        raise JudgeError(f"{source} returned {type(value).__name__}, "
                         "expected score, violations and detail")
    if isinstance(verdict.score, bool) or not isinstance(verdict.score, (int, float)) \
            or not 0 <= verdict.score <= 1:
        raise JudgeError(f"{source} returned score {verdict.score!r}, expected a number in 0..1")
    if not all(isinstance(v, str) for v in verdict.violations):
        raise JudgeError(f"{source} returned violations that are not all strings")
    verdict.score = float(verdict.score)
    verdict.violations = list(verdict.violations)
    return verdict


@dataclass
class PythonJudge:
    path: Path
    func: Callable = field(init=False, repr=False)

    def __post_init__(self):
        self.func = _load_function(self.path, "judge")

    def __call__(self, output: str, ctx: JudgeContext, log: EventLog) -> Verdict:
        try:
            verdict = as_verdict(self.func(output, ctx), str(self.path))
        except JudgeError:
            raise
        except Exception as exc:
            raise JudgeError(f"judge {self.path} raised {type(exc).__name__}: {exc}") from exc
        log.emit("judge_result", ctx.round, score=verdict.score,
                 violations=verdict.violations, detail=verdict.detail)
        return verdict


@dataclass
class ShellJudge:
    path: Path
    timeout: float = 300.0

    def __call__(self, output: str, ctx: JudgeContext, log: EventLog) -> Verdict:
        try:
            done = procs.run(["bash", str(self.path), str(ctx.run_dir), str(ctx.round)],
                             timeout=self.timeout, env=child_env())
        except OSError as exc:
            raise JudgeError(f"judge {self.path}: cannot start bash: {exc.strerror}") from None
        if done.timed_out:
            raise JudgeError(f"judge {self.path} did not finish within {self.timeout:g} s")
        if done.returncode != 0:
            raise JudgeError(f"judge {self.path} exited {done.returncode}: {done.tail()}")
        # judged(): a line this round wrote before a kill is not this replay's verdict
        events = read_events(Path(ctx.run_dir) / EVENTS_FILE).judged()
        mine = [e for e in events if e.get("round") == ctx.round]
        if not mine:
            raise JudgeError(f"judge {self.path} wrote no judge_result for round {ctx.round}")
        return as_verdict(mine[-1], str(self.path))


def load_judge(node_dir: Path):
    """judge.py wins over judge.sh when a node has both."""
    if (node_dir / "judge.py").is_file():
        return PythonJudge(node_dir / "judge.py")
    if (node_dir / "judge.sh").is_file():
        return ShellJudge(node_dir / "judge.sh")
    raise JudgeError(f"no judge.py or judge.sh in {node_dir}")


def _load_function(path: Path, name: str) -> Callable:
    """A judge.py that cannot load is a broken node (bad input, exit 2), found
    before any run exists; a judge that raises while judging fails the run."""
    module_name = f"deeploop_judge_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise InputError(f"cannot load judge {path}: {type(exc).__name__}: {exc}") from exc
    func = getattr(module, name, None)
    if not callable(func):
        raise InputError(f"judge {path} defines no function {name}()")
    return func
