"""The ``deeploop`` command line: one parser, subcommands from small modules.

Each module in COMMANDS exposes ``register(subparsers)`` and sets a handler
with ``set_defaults(func=...)``; handlers return an exit code. Every command
module is imported to build the parser, so a handler imports the deeploop
packages it runs when it runs: importing them all up front costs
``deeploop --help`` 0.45-0.8 s, and even the model registry (dataclasses,
typing) took the parser's import from ~13 ms to ~41 ms (measured on a
loaded 2-core machine, December 2026). Command modules import at the top
only the standard library, ``errors``, ``childenv`` and each other
(``drill_setup``, which only the drill handler imports, imports at the top).

Exit codes: 0 success, 1 a run that failed, 2 bad usage or bad input (one
line on stderr naming the problem).
"""
from __future__ import annotations

import argparse
import errno
import importlib
import logging
import sys

from ..errors import DeeploopError
from .claude import apply

DESCRIPTION = ("deeploop: run research loops (node loops, drills, experiments, research) "
               "and keep every run as plain files under ./runs or $DEEPLOOP_RUNS.")

COMMANDS = [
    "deeploop.cli.core",
    "deeploop.cli.demo",
    "deeploop.cli.notebook",
    "deeploop.cli.drill",
    "deeploop.cli.experiment",
    "deeploop.cli.research",
    "deeploop.cli.meta",
]


WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="deeploop", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


class _NoticeHandler(logging.Handler):
    """Prints the library's notices (a half-created tag cleared, a stale run
    taken over) as one line each on the stderr of the moment."""

    command = "deeploop"

    def emit(self, record: logging.LogRecord) -> None:
        print(f"deeploop {self.command}: {record.getMessage()}", file=sys.stderr)


def _show_notices(command: str) -> None:
    logger = logging.getLogger("deeploop.notice")
    handler = next((h for h in logger.handlers if isinstance(h, _NoticeHandler)), None)
    if handler is None:
        handler = _NoticeHandler()
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    handler.command = command


def first_failure(exc: BaseException) -> BaseException:
    """The error to report for a file error raised while handling another:
    on a full disk the loop's clean-up (a notification, the abort event)
    fails too, and the first failure is the one that says what happened.
    The earliest error of the family in the chain, else the earliest file error."""
    if not isinstance(exc, (OSError, UnicodeDecodeError)):
        return exc
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__context__
    ours = [e for e in chain if isinstance(e, DeeploopError)]
    files = [e for e in chain if isinstance(e, (OSError, UnicodeDecodeError))]
    return (ours or files)[-1]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _show_notices(args.command)
    # Installs the report builder every loop ends with (and the run tables):
    # after parsing, as --help and usage errors need none of it.
    from .. import notebook  # noqa: F401
    try:
        apply(args)
        return int(args.func(args) or 0)
    except DeeploopError as exc:
        exc = first_failure(exc)
        print(f"deeploop {args.command}: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except BrokenPipeError:
        return 0
    except (OSError, UnicodeDecodeError) as exc:
        # A file error that no reader named on the way up (a read-only folder,
        # a full disk): still one line, with the file when the error knows it.
        error = first_failure(exc)
        if not isinstance(error, DeeploopError):
            from ..fileio import file_error  # filelock (and asyncio): only on this path
            error = file_error(error, action="read" if isinstance(error, UnicodeDecodeError)
                               else "write" if error.errno in WRITE_ERRORS else "open")
        print(f"deeploop {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"deeploop {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
