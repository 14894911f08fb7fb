"""``deeploop meta``: one meta-analysis now, of an experiment tag or any results.tsv."""
from __future__ import annotations

import logging
import math
import sys
from datetime import datetime
from pathlib import Path

from ..errors import InputError
from .claude import add_arguments

EPILOG = ("With --tag the analysis is written to the tag's workspace: next-hypotheses.md, "
          "an entry in process_log.md and program.md's strategy (one 'meta:' commit), and a "
          "meta_analysis event. With --results it prints the analysis and writes "
          "next-hypotheses.md beside the file. --dry-run prints and writes nothing.")


def register(sub) -> None:
    meta = sub.add_parser("meta", help="meta-analysis: read the history, rank five hypotheses, "
                          "rewrite the strategy", description=__doc__, epilog=EPILOG)
    where = meta.add_mutually_exclusive_group(required=True)
    where.add_argument("--tag", help="experiment tag under runs/experiment/")
    where.add_argument("--results", help="any autoresearch-format results.tsv")
    meta.add_argument("--analyst", help="offline (default, or the tag's setting) or "
                                        "anthropic:<model>")
    meta.add_argument("--dry-run", action="store_true", help="print what would be written; "
                                                             "write nothing")
    meta.add_argument("--max-usd", type=float, dest="max_usd", metavar="D",
                      help="dollar cap for this analysis (an anthropic: analyst): a call that "
                           "could cross it is not made and the offline analyst answers")
    add_arguments(meta)
    meta.set_defaults(func=cmd_meta)


def check_max_usd(value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(f"--max-usd must be a positive number of dollars, got {value:g}")


def _analyst(spec: str | None, max_usd: float | None = None):
    from ..meta.analysts import get_analyst
    from ..models.anthropic import check_api_key
    from ..models.purse import Purse, attach
    analyst = get_analyst(spec)
    check_api_key(spec, "--analyst")
    if max_usd is not None:  # kept before the call: one that could cross it is not made
        attach(analyst, Purse(max_usd))
    return analyst


def summary_lines(inputs, raw_best: str | None = None) -> list[str]:
    s = inputs.summary
    lines = [f"results: {inputs.source}",
             f"experiments: {s.experiments}   keeps: {s.keeps}   crashes: {s.crashes}"
             "   (baseline not counted)"]
    if s.best is not None:
        value = raw_best or f"{s.best.val_bpb:.6f}"
        lines.append(f"best val_bpb: {value} (commit {s.best.commit}: {s.best.description})")
    else:
        lines.append("best val_bpb: none (no kept row with a score)")
    if s.floor is not None:
        lines.append(f"noise floor (2 sigma): {s.floor:.6f}")
    return lines


def hypothesis_lines(analysis) -> list[str]:
    head = f"hypotheses ({analysis.analyst}" + (
        f", fell back to offline: {analysis.fallback})" if analysis.fallback else ")")
    lines = [head]
    for h in analysis.hypotheses:
        lines.append(f"{h.rank}. [{h.label}] {h.change}")
        lines.append(f"   expected: {h.expected}")
        lines.append(f"   confidence: {h.confidence} — {h.reason}")
    usage = getattr(analysis, "usage", None)
    if usage is not None and usage.calls:
        lines.append(f"cost: ${usage.usd:.4f} ({usage.calls} call"
                     f"{'s' if usage.calls != 1 else ''}, {usage.prompt_tokens:,} prompt "
                     f"and {usage.output_tokens:,} output tokens)")
    return lines


def _print_problems(inputs) -> None:
    for problem in inputs.results.problems:
        print(f"problem: {problem}", file=sys.stderr)


def cmd_meta(args) -> int:
    logging.basicConfig(format="deeploop meta: warning: %(message)s", level=logging.WARNING)
    check_max_usd(args.max_usd)
    if args.results:
        return _results(args)
    return _tag(args)


def _results(args) -> int:
    from ..fileio import atomic_write_text
    from ..experiment.hypotheses import HYPOTHESES_FILE, render_hypotheses
    from ..meta.inputs import gather_file
    inputs = gather_file(args.results)
    _print_problems(inputs)
    if inputs.empty:
        print(f"{args.results}: no rows, nothing to analyse")
        return 0
    analysis = _analyst(args.analyst, args.max_usd).analyse(inputs)
    best = inputs.summary.best
    print("\n".join(summary_lines(inputs, best.raw.get("val_bpb") if best else None)))
    print()
    print("\n".join(hypothesis_lines(analysis)))
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    target = Path(args.results).parent / HYPOTHESES_FILE
    atomic_write_text(target, render_hypotheses(
        analysis.hypotheses, stamp=f"{datetime.now():%Y-%m-%d %H:%M:%S}",
        header=f"Meta-analysis {inputs.number} of {inputs.source} ({analysis.analyst})."))
    print(f"wrote {target}")
    return 0


def _tag(args) -> int:
    from ..experiment.rundir import open_run
    from ..fileio import file_lock
    from ..meta.tier import analyse_run
    run = open_run(args.tag)
    analyst = _analyst(args.analyst or run.settings().analyst, args.max_usd)
    with file_lock(run.path / ".lock", wait=False, what=f"experiment {args.tag!r}"):
        done = analyse_run(run, analyst, trigger="requested", dry_run=args.dry_run)
    if done is None:
        print(f"experiment {args.tag}: no results yet, nothing to analyse")
        return 0
    _print_problems(done.inputs)
    print("\n".join(summary_lines(done.inputs)))
    print()
    print("\n".join(hypothesis_lines(done.analysis)))
    if args.dry_run:
        print()
        print(done.plan.describe())
        print("dry run: nothing written")
    else:
        print(f"meta-analysis {done.plan.number}: program.md v{done.plan.version}, "
              f"commit {done.event['commit'][:7]} ({done.plan.commit_message})")
    return 0
