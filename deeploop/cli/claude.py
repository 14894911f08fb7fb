"""Flags every command that may call Claude or start programs shares:
``--price IN/OUT`` and ``--prices FILE`` (prices for a model deeploop's
table does not know) and ``--pass-env NAME`` (a credential a subprocess may
have). ``apply`` runs in ``main`` before the handler."""
from __future__ import annotations

from ..childenv import pass_env


def add_arguments(parser) -> None:
    group = parser.add_argument_group("Claude prices and subprocess environment")
    group.add_argument("--price", metavar="IN/OUT",
                       help="dollars per million input/output tokens for the anthropic: "
                            "model(s) named here that deeploop has no price for, e.g. 3/15")
    group.add_argument("--prices", metavar="FILE",
                       help='a JSON file {"<model id>": {"input": 3, "output": 15}}')
    group.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                       dest="pass_env",
                       help="let this credential through to command: models, --notify-cmd "
                            "and other subprocesses (repeatable); by default they get none")


def add_pass_env(parser) -> None:
    """``--pass-env NAME`` alone, for commands that start kernels but call no
    model themselves (``session``, ``batch``)."""
    parser.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                        dest="pass_env",
                        help="let this credential through to the notebook's kernel "
                             "(repeatable), e.g. ANTHROPIC_API_KEY for a notebook that calls "
                             "Claude; by default kernels get none")


def claude_models(args) -> list[str]:
    """The anthropic: model ids the command's flags name."""
    specs = [getattr(args, name, None) for name in
             ("proposer", "analyst", "synthesizer", "model", "questioner", "answerer")]
    return [s.partition(":")[2].strip() for s in specs
            if isinstance(s, str) and s.startswith("anthropic:")]


def apply(args) -> None:
    from ..models.pricing import load_prices_file, parse_price_flag, set_price
    pass_env(*getattr(args, "pass_env", None) or [])
    if getattr(args, "prices", None):
        for model, price in load_prices_file(args.prices).items():
            set_price(model, price)
    if getattr(args, "price", None):
        price = parse_price_flag(args.price)
        for model in claude_models(args):
            set_price(model, price)
