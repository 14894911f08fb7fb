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

COMMANDS = [
    # one module per command group, e.g. "deeploop.cli.core"
    "deeploop.cli.experiment",
]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="deeploop", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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
