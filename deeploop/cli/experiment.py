"""``deeploop experiment init|run`` and ``deeploop status``."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ..errors import NotFound
from .claude import add_arguments
from .core import add_no_report

EPILOG = ("Runs live in runs/experiment/<tag>/ (under $DEEPLOOP_RUNS if set): workspace/ "
          "(git, branch deeploop/<tag>), results.tsv, logs/, events.jsonl.")


def register(sub) -> None:
    exp = sub.add_parser("experiment",
                         help="autoresearch mode: edit train.py, train, keep or discard",
                         description=__doc__, epilog=EPILOG)
    actions = exp.add_subparsers(dest="action", metavar="ACTION", parser_class=type(exp))
    actions.required = True

    init = actions.add_parser("init", help="create runs/experiment/<tag>/ with its workspace")
    init.add_argument("--tag", required=True, help="name of the run (no '/', '..' or spaces)")
    init.add_argument("--data", help="text file or folder to train on, or tinystories[:PATH] "
                                     "(default: the embedded CPython stdlib corpus)")
    init.set_defaults(func=cmd_init)

    run = actions.add_parser("run", help="run the loop (creates the tag if it is new)",
                             epilog=EPILOG)
    run.add_argument("--tag", required=True, help="name of the run")
    run.add_argument("--experiments", type=int, help="stop when the tag has N trained "
                     "experiments, baseline and rejected proposals not counted (default 12)")
    run.add_argument("--max-rejected", type=int, dest="max_rejected", metavar="N",
                     help="end the run failed after N rejected proposals in a row (the "
                          "proposer failed, or its train.py did not parse or changed nothing); "
                          "default 5, 0 for no limit")
    run.add_argument("--hours", type=float, help="wall-clock limit for this run (default 6)")
    run.add_argument("--budget", type=float, help="training seconds per experiment "
                     "(default 60 on CPU, 300 on GPU)")
    run.add_argument("--proposer", help="offline (default), anthropic:<model> or command:<cmd>")
    run.add_argument("--min-delta", type=float, dest="min_delta",
                     help="keep only if val_bpb improves by more than this (overrides "
                          "--keep-sigma; default: keep-sigma x the measured noise)")
    run.add_argument("--noise-runs", type=int, dest="noise_runs", metavar="K",
                     help="train the baseline K more times first to measure run-to-run noise "
                          "(default 3; 0: no noise estimate, so any gain at all is kept)")
    run.add_argument("--keep-sigma", type=float, dest="keep_sigma", metavar="S",
                     help="a keep must beat the best by more than S standard errors of the "
                          "noise (default 2)")
    run.add_argument("--confirm", dest="confirm", action=argparse.BooleanOptionalAction,
                     default=None, help="re-run any gain above one standard error; keep only if "
                                        "the fresh run confirms it (default on)")
    run.add_argument("--sandbox", choices=("auto", "bwrap", "none"),
                     help="walls around train.py and command: agents (default auto: bwrap "
                          "where it works, else none, said at the start)")
    run.add_argument("--meta-interval", type=int, dest="meta_interval",
                     help="meta-analysis every N experiments (default 12; 0 turns it off)")
    run.add_argument("--meta-threshold", type=float, dest="meta_threshold",
                     help="... and right after a keep beating the best by more than this "
                          "(default 2 x keep-sigma x the measured noise; 0.003 without noise runs)")
    run.add_argument("--analyst", help="who does the meta-analysis: offline (default) or "
                                       "anthropic:<model>")
    run.add_argument("--max-usd", type=float, dest="max_usd", help="dollar limit (default 10)")
    run.add_argument("--data", help="corpus for a new tag (see init); checked on --resume")
    run.add_argument("--resume", action="store_true", help="continue an existing tag")
    run.add_argument("--notify-cmd", dest="notify_cmd",
                     help="command run with each notification's text as its last argument")
    run.add_argument("--breakthrough", type=float, help="share below baseline that notifies "
                     "'breakthrough' (default 0.01)")
    run.add_argument("--major-breakthrough", type=float, dest="major_breakthrough",
                     help="share below baseline for 'major_breakthrough' (default 0.03)")
    run.add_argument("--max-memory-gb", type=float, dest="max_memory_gb",
                     help="kill a trainer whose memory passes this (default 80%% of RAM)")
    run.add_argument("--seed", type=int, help="seed of the offline proposer's tie-breaking")
    run.add_argument("--no-warm-start", dest="warm_start", action="store_const", const=False,
                     help="start every trainer as a fresh process instead of forking it "
                          "from a helper that has torch imported")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_no_report(run)
    add_arguments(run)
    run.set_defaults(func=cmd_run)

    repair = actions.add_parser(
        "repair", help="rebuild results.tsv from events.jsonl (the old file is kept as "
                       "results.tsv.damaged)",
        description="Rebuild a tag's results.tsv from its events, when resume refused a "
                    "damaged one. Rows a person added by hand are not in the events: copy "
                    "them back from results.tsv.damaged.")
    repair.add_argument("--tag", required=True, help="name of the run")
    repair.set_defaults(func=cmd_repair)

    status = sub.add_parser("status", help="sum up an experiment run (or any results.tsv)")
    where = status.add_mutually_exclusive_group(required=True)
    where.add_argument("--tag", help="experiment tag under runs/experiment/")
    where.add_argument("--results", help="an autoresearch-format results.tsv")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)


def _overrides(args: argparse.Namespace) -> dict:
    names = ("experiments", "max_rejected", "hours", "budget", "proposer", "min_delta", "max_usd", "notify_cmd",
             "breakthrough", "major_breakthrough", "max_memory_gb", "seed", "warm_start",
             "noise_runs", "meta_interval", "meta_threshold", "analyst", "keep_sigma",
             "confirm", "sandbox")
    return {n: getattr(args, n) for n in names}


def cmd_init(args) -> int:
    from ..experiment.rundir import init_run
    run = init_run(args.tag, args.data)
    print(f"created {run.path} (branch deeploop/{args.tag}, corpus {run.corpus()['name']})")
    return 0


def _prepare(args):
    """Validate everything first, then create or open the run."""
    from ..meta.opening import open_experiment
    from ..experiment.proposers import get_proposer
    from ..meta.analysts import get_analyst
    run, settings = open_experiment(args.tag, data=args.data, resume=args.resume, keep_lock=True,
                                    **_overrides(args))
    return run, settings, get_proposer(settings.proposer), get_analyst(settings.analyst)


def cmd_run(args) -> int:
    logging.basicConfig(format="deeploop experiment: warning: %(message)s", level=logging.WARNING)
    from ..experiment.interrupts import Interrupted, interrupts
    from ..experiment.status import ProgressBar
    from ..experiment.results import read_results
    from ..experiment.status import format_status, load_status
    from ..harness import drive, on
    from ..meta.tier import run_with_meta
    from ..reporting import end_with_report
    from ..runs import Status, read_outcome
    run, settings, proposer, analyst = _prepare(args)
    best = read_results(run.results_path).best()
    status = load_status(run.path, args.tag)
    bar = ProgressBar(settings.experiments, status.experiments,
                      best.val_bpb if best else None, settings.hours,
                      disable=args.no_progress or not sys.stderr.isatty())
    if not settings.noise_runs and settings.min_delta is None:
        print("deeploop experiment run: --noise-runs 0: the noise is not measured, so any "
              "gain at all is kept (lucky runs included)", file=sys.stderr)
    try:
        with interrupts():  # SIGINT, SIGTERM, SIGHUP: trainer killed, run recorded aborted
            drive(run_with_meta(run, settings, proposer=proposer, analyst=analyst),
                  [on("sandbox_unavailable", _unconfined), bar])
    except Interrupted as stop:
        bar.close()
        print(f"deeploop experiment run: {stop.reason}; the experiment in flight will be "
              f"trained again by: deeploop experiment run --tag {args.tag} --resume",
              file=sys.stderr)
        return stop.exit_code
    finally:
        bar.close()
    print(format_status(load_status(run.path, args.tag)))
    report = end_with_report(run.path, enabled=args.report)
    if report:
        print(f"report: {report}")
    outcome = read_outcome(run.path)[0] or {}
    if outcome.get("status") == Status.FAILED:
        print(f"deeploop experiment run: {outcome['exit_reason']}", file=sys.stderr)
        return 1
    return 0


def _unconfined(event: dict) -> None:
    print(f"deeploop experiment run: no sandbox: {event.get('reason')}; train.py "
          "runs unconfined (the harness still scores)", file=sys.stderr)


def cmd_repair(args) -> int:
    from ..events import read_events
    from ..experiment.record import recorded, repair
    from ..experiment.rundir import open_run
    from ..fileio import file_lock
    run = open_run(args.tag)
    with file_lock(run.path / ".lock", wait=False, what=f"experiment {args.tag!r}"):
        events = read_events(run.events_path).events
        kept = repair(run.results_path, events)
    print(f"rebuilt {run.results_path} from events.jsonl: {len(recorded(events))} rows"
          + (f" (the old file is {kept})" if kept else ""))
    return 0


def cmd_status(args) -> int:
    from ..experiment.results import read_results
    from ..experiment.rundir import open_run
    from ..experiment.status import format_status, load_status, summarize
    if args.tag:
        status = load_status(open_run(args.tag).path, args.tag)
    else:
        if not Path(args.results).is_file():
            raise NotFound(f"results file not found: {args.results}")
        status = summarize(read_results(args.results), name=args.results)
    print(json.dumps(status.to_json(), indent=2) if args.json else format_status(status))
    return 0
