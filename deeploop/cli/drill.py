"""``deeploop drill`` (drill a claim to bedrock) and ``deeploop render`` (show a drill)."""
from __future__ import annotations

import sys

from ..errors import InputError
from .claude import add_arguments as add_claude_arguments
from .core import add_budget, add_no_report

NODE_FANOUT = object()  # bare --fanout: node.toml says how many investigators
ANSWER_HELP = ("a deeper reason, BEDROCK:<category> [rationale], BRANCH:<parallel cause> "
               "or STOP")


def register(sub) -> None:
    p = sub.add_parser(
        "drill", help="drill one claim to bedrock, one question at a time",
        description="Drill one claim to bedrock: every answer to 'why?' becomes a deeper "
                    "claim until BEDROCK:<category> closes each branch. Answers come from "
                    "you at the terminal (default), an answers file, a model, or a fanout of "
                    "investigators. The run is kept under runs/deeper/<run-id>/ and can be "
                    "resumed. Exit 0 when the drill passed, paused, was stopped or hit its "
                    "round cap; 1 when it failed, span or ran out of budget.")
    p.add_argument("claim", nargs="?", help="the claim to drill")
    p.add_argument("--seed", metavar="FILE", help="read the claim from a seed file "
                   "(first line that is not empty or a heading)")
    p.add_argument("--resume", metavar="RUN", help="continue a drill (run id or folder)")
    p.add_argument("--run-id", metavar="ID", help="name a new run (default deeper-STAMP-SUFFIX)")
    p.add_argument("--answers", metavar="FILE", help="one answer per line ('-': stdin); the "
                   "drill pauses when they run out and resuming with the same file goes on")
    p.add_argument("--answerer", metavar="SPEC", help="a model answers: anthropic:<model>, "
                   "command:<cmd>, mock:<name>, scripted:<file>, or 'model' (node default)")
    p.add_argument("--fanout", type=int, nargs="?", const=NODE_FANOUT, metavar="N",
                   help="N investigators per round, in parallel (angles: evidence, "
                   "counterexample, boundary, mechanism, precedent); bare --fanout: "
                   "node.toml's fanout (5). Put the claim before it")
    p.add_argument("--investigator", metavar="SPEC", help="model of each investigator "
                   "(default: --answerer)")
    p.add_argument("--synthesizer", metavar="SPEC", help="model that merges the findings "
                   "(default: a mechanical synthesis)")
    p.add_argument("--deadline", type=float, metavar="S", help="seconds per investigator (180)")
    p.add_argument("--fail-threshold", type=int, metavar="K",
                   help="failed investigators that make a round BLOCKED (3)")
    p.add_argument("--verify", type=int, metavar="N", help="N skeptics check each bedrock")
    p.add_argument("--skeptic", metavar="SPEC", help="model of the skeptics (default: --answerer)")
    p.add_argument("--questioner", metavar="SPEC", help="offline (default), model, "
                   "anthropic:<model>, command:<cmd>, mock:<name> or scripted:<file>")
    add_budget(p, "rounds (node.toml: 20)")
    p.add_argument("--quiet", action="store_true", help="print only the final line")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar while an answerer drills (the round lines stay)")
    add_no_report(p)
    add_claude_arguments(p)
    p.set_defaults(func=cmd_drill)

    p = sub.add_parser("render", help="print a drill's tree (text, or --html)",
                       description="Print the tree of a drill run as text (exactly like the "
                                   "reference's render.sh) or as HTML.")
    p.add_argument("run", help="a run id (searched under the runs root) or a run folder's path")
    p.add_argument("--html", action="store_true", help="nested <details> HTML instead of text")
    p.set_defaults(func=cmd_render)


def cmd_render(args) -> int:
    from ..drill.view import load_drill
    view = load_drill(args.run)
    sys.stdout.write(view.html() + "\n" if args.html else view.text())
    return 0


def cmd_drill(args) -> int:
    from ..drill.node import load_deeper
    from ..drill.progress import DrillProgress
    from ..drill.unattended import drill_steps
    from ..harness import drive
    from ..drill.render import render_text
    from ..reporting import end_with_report
    from ..runs import Status
    from .drill_setup import answer_lines, build_answerer, build_budget, build_verifier, \
        open_session
    starts = [args.claim is not None, args.seed is not None, args.resume is not None]
    if sum(starts) != 1:
        raise InputError("give exactly one of: a CLAIM, --seed FILE or --resume RUN")
    node = load_deeper()
    if args.fanout is NODE_FANOUT:
        args.fanout = int(node.setting("fanout"))
    lines = answer_lines(args)  # read before creating anything: a bad file creates no run
    verifier = build_verifier(args, node)
    drill = open_session(args, node, build_budget(args, node), verifier)
    try:
        answerer = build_answerer(args, node, lines, drill)
        if answerer is None:
            _interactive(drill, quiet=args.quiet)
        else:
            bar = DrillProgress(drill.budget.max_rounds, drill.rounds, lines=not args.quiet,
                                disable=args.quiet or args.no_progress or not sys.stderr.isatty())
            try:
                drive(drill_steps(drill, answerer), [bar])
            finally:
                bar.close()
    except KeyboardInterrupt:
        drill.pause("interrupted; resume to continue")
        raise
    finally:
        drill.close()
    if not args.quiet:
        print("\n" + render_text(drill.tree), end="")
    print(f"drill {drill.run_id}: {drill.status} ({drill.exit_reason}) — {drill.run_dir}")
    report = end_with_report(drill.run_dir, enabled=args.report)
    if report and not args.quiet:
        print(f"report: {report}")
    failing = (Status.FAILED, Status.SPINNING, Status.BUDGET)
    return 1 if drill.status in failing else 0


def _interactive(drill, quiet: bool = False) -> None:
    """A person answers at the terminal (or through a pipe); end of input pauses."""
    from ..drill.tree import BEDROCK_CATEGORIES
    echo = not sys.stdin.isatty()
    while not drill.finished:
        question = drill.ask()
        if question is None:
            break
        if not quiet:
            print(f"\nround {drill.rounds + 1} · depth {len(drill.tree.cursor)}")
            print(question.text)
            print(f"  ({ANSWER_HELP}; categories: {', '.join(BEDROCK_CATEGORIES)})")
        try:
            line = input("> " if not quiet else "")
        except EOFError:
            drill.pause(f"input ended after round {drill.rounds}; resume to continue")
            break
        if echo and not quiet:
            print(line)
        try:
            result = drill.answer(line)
        except InputError as exc:
            print(f"  ! {exc}", file=sys.stderr)
            continue
        if not quiet:
            print(f"  {result.message}")
