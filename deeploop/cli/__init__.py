"""The ``deeploop`` command line: one parser, subcommands from small modules.

Each module in COMMANDS exposes ``register(subparsers)`` and sets a handler
with ``set_defaults(func=...)``; handlers return an exit code. Heavy imports
live inside handlers so ``deeploop --help`` stays instant.

Exit codes: 0 success, 1 a run that failed, 2 bad usage or bad input (one
line on stderr naming the problem).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import DeeploopError

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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from .claude import apply
        apply(args)
        return int(args.func(args) or 0)
    except DeeploopError as exc:
        print(f"deeploop {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"deeploop {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
