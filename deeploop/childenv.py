"""Secrets stay home: the environment every subprocess deeploop starts gets.

``command:`` models, ``--notify-cmd``, shell judges, training runs, the
workspaces' git and notebook kernels (``session``, ``batch``, reports) get the
caller's environment minus anything that looks like a credential:
``ANTHROPIC_*``, ``AWS_*``, and any name containing API_KEY, TOKEN, SECRET,
PASSWORD, CREDENTIAL, ACCESS_KEY, PRIVATE_KEY or AUTH. A user who wants a
program to have one (``command:claude -p`` needs its key) names it:
``--pass-env ANTHROPIC_API_KEY`` (repeatable), or ``DEEPLOOP_PASS_ENV``
(names separated by commas). A batch hands the names to its workers with each
task, so kernels a worker process (or a Dask worker) starts get them too.
"""
from __future__ import annotations

import os
import re

PASS_ENV = "DEEPLOOP_PASS_ENV"
_SECRET = re.compile(r"API_?KEY|TOKEN|SECRET|PASSW|CREDENTIAL|ACCESS_KEY|PRIVATE_KEY|AUTH",
                     re.IGNORECASE)
_PREFIXES = ("ANTHROPIC_", "AWS_")
_passed: set[str] = set()


def pass_env(*names: str) -> None:
    """Let these variables through to subprocesses (``--pass-env NAME``)."""
    _passed.update(n.strip() for n in names if n and n.strip())


def passed_names(environ: dict[str, str] | None = None) -> set[str]:
    environ = os.environ if environ is None else environ
    extra = {n.strip() for n in environ.get(PASS_ENV, "").split(",") if n.strip()}
    return _passed | extra


def is_secret(name: str) -> bool:
    return name.upper().startswith(_PREFIXES) or bool(_SECRET.search(name))


def child_env(environ: dict[str, str] | None = None, extra: dict[str, str] | None = None
              ) -> dict[str, str]:
    """``environ`` (default: this process's) without credentials, except the
    names the user passed, plus ``extra``."""
    environ = dict(os.environ if environ is None else environ)
    allowed = passed_names(environ)
    env = {k: v for k, v in environ.items() if k in allowed or not is_secret(k)}
    env.update(extra or {})
    return env
