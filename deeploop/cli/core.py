"""Core commands: runs, show, loop, feedback, meta-loop."""
from __future__ import annotations

import argparse
import os
import sys

from ..errors import InputError
from .claude import add_arguments as add_claude_arguments


def register(sub) -> None:
    p = command(sub, "runs", cmd_runs, "list runs (id, status, rounds, final score, start time)",
                "List recorded runs, oldest first, from the runs root (./runs or "
                "$DEEPLOOP_RUNS).")
    p.add_argument("node", nargs="?", help="only runs of this node")

    p = command(sub, "show", cmd_show, "summarise one run",
                "Summarise one run: status, score per round, violations, lessons in force.")
    p.add_argument("run", help="a run id (searched under the runs root) or a run folder's path")

    p = command(sub, "loop", cmd_loop, "run one ralph run of a node",
                "Run one ralph run of NODE on a seed (or continue one with --resume) and print "
                "the run folder. A STOP file in the run folder ends it paused after the round "
                "in flight. Exit 0 when the run ends passed, hard_cap, budget_exhausted or "
                "paused; 1 when it failed or was aborted.")
    p.add_argument("node")
    p.add_argument("--seed", metavar="FILE", help="the locked input (a new run)")
    p.add_argument("--resume", metavar="RUN_ID",
                   help="continue a paused, interrupted or killed run of NODE, under the "
                        "budgets and model it started with; the round in flight is played again")
    add_model(p)
    add_budget(p, "rounds per run (node.toml, 12)", " per run")
    p.add_argument("--run-id", metavar="ID", help="name the run (default: NODE-STAMP-SUFFIX)")
    add_no_report(p)
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar on stderr (none is shown when stderr is not a terminal)")
    add_claude_arguments(p)

    p = command(sub, "feedback", cmd_feedback, "promote recurring violations into BANS.md",
                "Among the newest W runs of NODE, promote every violation seen in at least "
                "THRESHOLD runs into nodes/NODE/BANS.md (idempotent).")
    p.add_argument("node")
    add_feedback_window(p)

    p = command(sub, "meta-loop", cmd_meta_loop, "alternate node runs and feedback",
                "Run NODE N times on a seed, promoting lessons after every K runs, and print "
                "the final BANS.md.")
    add_node_and_seed(p)
    p.add_argument("--runs", type=int, default=5, metavar="N", help="how many runs (5)")
    p.add_argument("--feedback-every", type=int, default=1, metavar="K",
                   help="run feedback after every K runs (1)")
    add_feedback_window(p)
    add_model(p)
    add_budget(p, "rounds per run (node.toml, 12)", " per run")
    add_no_report(p, "each run")


def command(sub, name: str, func, help: str, description: str) -> argparse.ArgumentParser:
    """A subcommand whose handler is FUNC."""
    p = sub.add_parser(name, help=help, description=description)
    p.set_defaults(func=func)
    return p


def add_node_and_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("node")
    p.add_argument("--seed", required=True, metavar="FILE", help="the locked input")


def add_feedback_window(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", type=int, default=5, metavar="W",
                   help="newest runs feedback reads (5)")
    p.add_argument("--threshold", type=int, default=2, metavar="C",
                   help="runs a violation must occur in to become a lesson (2)")


def add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="SPEC",
                   help="anthropic:<model>, command:<cmd>, mock:<name> or scripted:<file> "
                        "(default: the node's default_model)")


def add_budget(p: argparse.ArgumentParser, rounds: str, per: str = "") -> None:
    """--hard-cap (help: ROUNDS) and the wall-clock, token and dollar budgets."""
    p.add_argument("--hard-cap", type=int, metavar="N", help=rounds)
    p.add_argument("--max-seconds", type=float, metavar="S", help=f"wall-clock budget{per}")
    p.add_argument("--max-tokens", type=int, metavar="T", help=f"token budget{per}")
    p.add_argument("--max-usd", type=float, metavar="D", help=f"dollar budget{per}")


def add_no_report(p: argparse.ArgumentParser, what: str = "the run") -> None:
    p.add_argument("--no-report", dest="report", action="store_false",
                   help=f"do not end {what} with report.ipynb and report.html (built by default; "
                        "a report that fails is a warning, never a failed run)")


def cmd_runs(args) -> int:
    from ..runs import list_runs, validate_run_id
    from ..summary import runs_table
    if args.node is not None:
        validate_run_id(args.node, "node name")  # never list folders outside the runs root
    print(runs_table(list_runs(args.node)))
    return 0


def cmd_show(args) -> int:
    from ..runs import load_run, resolve_run
    from ..summary import summarize
    print(summarize(load_run(resolve_run(args.run))))
    return 0


def resolve_model_spec(node, spec: str | None) -> str:
    if spec:
        return spec
    if node.default_model:
        return node.default_model
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic:claude-sonnet-4-6"
    raise InputError(f"node {node.name} has no default_model in node.toml: pass --model")


def budget_from(args, node):
    from ..budget import Budget
    cap = node.hard_cap if args.hard_cap is None else args.hard_cap
    given = {"max_rounds": cap, "max_seconds": args.max_seconds,
             "max_tokens": args.max_tokens, "max_usd": args.max_usd}
    return Budget(**{k: v for k, v in given.items() if v is not None})


def read_seed(path: str) -> str:
    from ..fileio import read_text
    seed = read_text(os.path.expanduser(path), "seed file")
    if not seed.strip():
        raise InputError(f"seed file is empty: {path}")
    return seed


def prepare(args):
    """Everything a run needs, validated before anything is created."""
    from ..models import get_model
    from ..models.anthropic import check_api_key
    from ..nodes import find_node
    from ..runs import run_dir_for
    node = find_node(args.node)
    seed = read_seed(args.seed)
    spec = resolve_model_spec(node, args.model)
    get_model(spec)  # refuses an unknown spec or a missing command now
    check_api_key(spec, "--model")  # refused before the run exists
    budget = budget_from(args, node)
    run_id = getattr(args, "run_id", None)
    if run_id is not None:
        run_dir_for(node.name, run_id)  # a bad or used id is refused before the run
    return node, seed, spec, budget


def cmd_loop(args) -> int:
    from ..harness import drive
    from ..nodeloop.loop import node_steps
    from ..nodeloop.progress import NodeProgress
    from ..runs import Status
    from ..models import get_model
    if args.resume is not None:
        steps = resume_steps(args)
    elif args.seed is None:
        raise InputError("give --seed FILE for a new run, or --resume RUN_ID")
    else:
        node, seed, spec, budget = prepare(args)
        steps = node_steps(node, seed, get_model(spec), run_id=args.run_id, budget=budget,
                           report=args.report)
    bar = NodeProgress(disable=args.no_progress or not sys.stderr.isatty())
    try:
        result = drive(steps, [bar])
    finally:
        bar.close()
    print(result.run_dir)
    if result.report:
        print(f"report: {result.report}", file=sys.stderr)
    o = result.outcome
    print(f"{o.status} in {o.rounds} rounds (score={o.final_score}): {o.exit_reason}",
          file=sys.stderr)
    if o.extra.get("resumable"):
        print(f"resume with: deeploop loop {o.node} --resume {o.run_id}", file=sys.stderr)
    return 1 if o.status in (Status.FAILED, Status.ABORTED) else 0


def resume_steps(args):
    """``deeploop loop NODE --resume RUN_ID``: the run's own seed, id and budgets;
    budget flags only for a run that recorded none, --model to change its model."""
    from ..models import get_model
    from ..models.anthropic import check_api_key
    from ..nodeloop.loop import resume_steps as steps_of
    from ..nodes import find_node
    if args.seed is not None or args.run_id is not None:
        raise InputError("--resume continues a run with its own seed and id: "
                         "drop --seed and --run-id")
    node = find_node(args.node)
    model = None
    if args.model:
        get_model(args.model)  # refuses an unknown spec or a missing command now
        check_api_key(args.model, "--model")
        model = get_model(args.model)
    given = [args.hard_cap, args.max_seconds, args.max_tokens, args.max_usd]
    budget = budget_from(args, node) if any(v is not None for v in given) else None
    return steps_of(node, args.resume, model, budget=budget, report=args.report)


def cmd_feedback(args) -> int:
    from ..lessons import describe_feedback, feedback
    from ..nodes import find_node
    node = find_node(args.node)
    report = feedback(node, window=args.window, threshold=args.threshold)
    print(describe_feedback(report, node.name, args.window, node.bans_path))
    return 0


def cmd_meta_loop(args) -> int:
    from ..harness import drive
    from ..nodeloop.metaloop import meta_loop_steps, printer
    from ..models import get_model
    node, seed, spec, budget = prepare(args)
    drive(meta_loop_steps(node, seed, lambda: get_model(spec), runs=args.runs,
                          feedback_every=args.feedback_every, window=args.window,
                          threshold=args.threshold, budget=budget, report=args.report),
          [printer(print)])
    return 0
