"""Any program as a model: the prompt on stdin, the answer on stdout.

``command:claude -p`` or a local model's CLI. Like the reference harness,
facts about the call are exported as environment variables (NODE_NAME,
RUN_ID, ROUND, BANS_FILE, SEED_FILE, ...). Credentials are not passed
(``childenv``): a program that is itself a model client gets its key only
when the user names it (``--pass-env ANTHROPIC_API_KEY``).
"""
from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field

from ..childenv import child_env
from ..errors import InputError, ModelError
from .. import procs
from .base import Completion
from ..usage import Usage

ENV_NAMES = {"node": "NODE_NAME", "run_id": "RUN_ID", "round": "ROUND",
             "bans_file": "BANS_FILE", "seed_file": "SEED_FILE", "run_dir": "RUN_DIR"}


@dataclass
class CommandModel:
    command: str
    timeout: float = 600.0
    cwd: str | None = None
    wrap: object = None  # argv -> argv: the experiment loop's sandbox (sandbox.Sandbox.wrap)
    spec: str = field(init=False)
    argv: list[str] = field(init=False)

    def __post_init__(self):
        self.spec = f"command:{self.command}"
        try:
            self.argv = shlex.split(self.command)
        except ValueError as exc:
            raise InputError(f"bad command model {self.command!r}: {exc}") from None
        if not self.argv or shutil.which(self.argv[0]) is None:
            raise InputError(f"command model not found: {self.argv[0] if self.argv else ''!r}"
                             " is not on PATH", spec=self.spec)

    def complete(self, prompt: str, *, system: str | None = None,
                 max_tokens: int | None = None, **context) -> Completion:
        stable = context.pop("stable", None)  # the cache layout means nothing here
        history = "\n".join(context.pop("history", None) or [])
        env = child_env()
        env.update({ENV_NAMES.get(k, k.upper()): str(v) for k, v in context.items()
                    if v is not None and isinstance(v, (str, int, float, os.PathLike))})
        text = "\n\n".join(p for p in (system, stable, history, prompt) if p)
        try:
            argv = self.wrap(self.argv) if self.wrap is not None else self.argv
            done = procs.run(argv, input=text, timeout=self.timeout, env=env,
                             cwd=context.get("cwd") or self.cwd)
        except OSError as exc:
            raise ModelError(f"{self.spec}: cannot start: {exc.strerror}", spec=self.spec) from None
        if done.timed_out:
            raise ModelError(f"{self.spec}: no answer within {self.timeout:g} s", spec=self.spec)
        if done.returncode != 0:
            raise ModelError(f"{self.spec}: exited {done.returncode}: {done.tail()}",
                             spec=self.spec)
        return Completion(done.stdout.rstrip("\n"), Usage(calls=1))
