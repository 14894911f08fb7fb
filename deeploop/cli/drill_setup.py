"""Turning ``deeploop drill`` flags into a drill, an answer source and checks.

Everything that can be refused is checked before a run folder is created,
so bad flags leave no half-made run behind.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..budget import DEFAULT_MAX_SECONDS, DEFAULT_MAX_TOKENS, DEFAULT_MAX_USD, Budget
from ..drill.fanout import ANGLES, FanoutAnswerer
from ..drill.drill import Drill
from ..drill.answerers import ListAnswers, ModelAnswerer
from ..drill.replies import nonempty_lines
from ..drill.verify import Verifier
from ..errors import InputError
from ..fileio import read_text
from ..models import get_model


def model_spec(spec: str, node, flag: str) -> str:
    """``model`` means the node's default_model."""
    if spec != "model":
        return spec
    default = node.setting("default_model")
    if not default:
        raise InputError(f"{flag} model needs default_model in nodes/deeper/node.toml")
    return default


def answer_lines(args) -> list[str] | None:
    if args.answers is None:
        return None
    if args.answerer or args.fanout:
        raise InputError("--answers cannot be combined with --answerer or --fanout")
    if args.answers == "-":
        return nonempty_lines(sys.stdin.read())
    return nonempty_lines(read_text(Path(args.answers).expanduser(), "answers file"))


def build_budget(args, node) -> Budget:
    return Budget(max_rounds=args.hard_cap if args.hard_cap is not None else node.hard_cap,
                  max_seconds=args.max_seconds if args.max_seconds is not None
                  else DEFAULT_MAX_SECONDS,
                  max_tokens=args.max_tokens if args.max_tokens is not None
                  else DEFAULT_MAX_TOKENS,
                  max_usd=args.max_usd if args.max_usd is not None else DEFAULT_MAX_USD)


def build_verifier(args, node):
    if args.verify is None:
        return None
    spec = args.skeptic or args.answerer
    if not spec:
        raise InputError("--verify needs a model for the skeptics: --skeptic SPEC or --answerer SPEC")
    deadline = args.deadline if args.deadline is not None else float(node.setting("deadline"))
    return Verifier(get_model(model_spec(spec, node, "--skeptic")), args.verify, deadline)


def open_session(args, node, budget, verifier):
    options = {"node": node, "budget": budget, "verifier": verifier}
    if args.questioner:
        options["questioner"] = model_spec(args.questioner, node, "--questioner")
    _check_source_flags(args, node)
    if args.resume:
        if args.run_id:
            raise InputError("--run-id names a new run; it cannot be used with --resume")
        return Drill.resume(args.resume, **options)
    if args.seed:
        seed = read_text(Path(args.seed).expanduser(), "seed file")
        return Drill.start(seed=seed, run_id=args.run_id, **options)
    return Drill.start(args.claim, run_id=args.run_id, **options)


def _check_source_flags(args, node) -> None:
    """Model specs and fanout numbers are checked before the run exists."""
    for flag in ("answerer", "investigator", "synthesizer"):
        spec = getattr(args, flag)
        if spec:
            get_model(model_spec(spec, node, f"--{flag}"))
    if args.deadline is not None and args.deadline <= 0:
        raise InputError(f"--deadline must be a positive number of seconds, got {args.deadline:g}")
    if args.fail_threshold is not None and args.fail_threshold < 1:
        raise InputError(f"--fail-threshold must be at least 1, got {args.fail_threshold}")
    if args.fanout is not None:
        if not 1 <= args.fanout <= len(ANGLES):
            raise InputError(f"--fanout must be between 1 and {len(ANGLES)} "
                             f"(one investigator per angle: {', '.join(ANGLES)})")
        if not (args.investigator or args.answerer):
            raise InputError("--fanout needs a model for the investigators: "
                             "--investigator SPEC or --answerer SPEC")


def build_answerer(args, node, lines, drill):
    """The unattended answer source, or None when a person answers at the terminal."""
    if lines is not None:
        path = None if args.answers == "-" else str(Path(args.answers).expanduser().resolve())
        start = drill.answers_used.get(path, 0) if path else 0
        return ListAnswers(lines, start=start, path=path)
    if args.fanout is not None:
        spec = model_spec(args.investigator or args.answerer, node, "--investigator")
        synthesizer = (get_model(model_spec(args.synthesizer, node, "--synthesizer"))
                       if args.synthesizer else None)
        return FanoutAnswerer(
            get_model(spec), tuple(ANGLES)[:args.fanout],
            deadline=args.deadline if args.deadline is not None else float(node.setting("deadline")),
            fail_threshold=args.fail_threshold if args.fail_threshold is not None
            else int(node.setting("fail_threshold")),
            synthesizer=synthesizer)
    if args.answerer:
        return ModelAnswerer(get_model(model_spec(args.answerer, node, "--answerer")))
    return None
