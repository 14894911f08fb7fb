"""``deeploop research init|run|status``: cited research into a report."""
from __future__ import annotations

import sys

from .claude import add_arguments

EPILOG = ("Runs live in runs/research/<tag>/ (under $DEEPLOOP_RUNS if set): workspace/ (git, "
          "branch research/<tag>: program.md, report.md, knowledge_index.tsv, process_log.md), "
          "events.jsonl, research.json, report.html. A tag is created once and continued by "
          "every later run; nothing is ever overwritten.")
SOURCES_HELP = "local:DIR (a folder of .md/.txt/.html/.pdf) or sample:stdlib (the default)"


def register(sub) -> None:
    research = sub.add_parser("research", help="research mode: questions -> sources -> a cited "
                              "report.md", description=__doc__, epilog=EPILOG)
    actions = research.add_subparsers(dest="action", metavar="ACTION",
                                      parser_class=type(research))
    actions.required = True

    init = actions.add_parser("init", help="create runs/research/<tag>/ with its workspace",
                              epilog=EPILOG)
    init.add_argument("--tag", required=True, help="name of the research (no '/', '..' or spaces)")
    init.add_argument("--topic", help="what to research (default: YOUR_TOPIC_HERE, to edit in "
                                      "program.md before running)")
    init.add_argument("--sources", help=SOURCES_HELP)
    init.add_argument("--question", action="append", metavar="Q", dest="questions",
                      help="a seed question (repeatable; default: four questions on the topic)")
    init.set_defaults(func=cmd_init)

    run = actions.add_parser("run", help="research until the index has --entries rows "
                             "(continues an existing tag)", epilog=EPILOG)
    run.add_argument("--tag", required=True, help="name of the research")
    run.add_argument("--topic", help="topic of a new tag (a tag keeps its topic)")
    run.add_argument("--entries", type=int, help="stop when knowledge_index.tsv has N entries "
                     "(default 10)")
    run.add_argument("--sources", help=SOURCES_HELP)
    run.add_argument("--synthesizer", help="offline (default: extractive, over --sources) or "
                     "anthropic:<model> (web search; needs ANTHROPIC_API_KEY)")
    run.add_argument("--max-usd", type=float, dest="max_usd", help="dollar limit (default 10)")
    run.add_argument("--max-tokens", type=int, dest="max_tokens",
                     help="token limit (default 5,000,000)")
    run.add_argument("--hours", type=float, help="wall-clock limit for this run (default 6)")
    run.add_argument("--max-uses", type=int, dest="max_uses",
                     help="web searches per question with anthropic:<model> (default 5)")
    run.add_argument("--notify-cmd", dest="notify_cmd",
                     help="command run with each notification's text as its last argument")
    run.add_argument("--seed", type=int, help="seed of the picker's choice among follow-ups")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--no-report", action="store_true",
                     help="skip report.ipynb/report.html at the end")
    add_arguments(run)
    run.set_defaults(func=cmd_run)

    status = actions.add_parser("status", help="sum up a research run")
    status.add_argument("--tag", required=True, help="name of the research")
    status.set_defaults(func=cmd_status)


def _overrides(args) -> dict:
    names = ("entries", "sources", "synthesizer", "max_usd", "max_tokens", "hours", "max_uses",
             "notify_cmd", "seed")
    return {n: getattr(args, n) for n in names}


def _print_skipped(skipped: list[str]) -> None:
    for line in skipped:
        print(f"deeploop research: skipped {line}", file=sys.stderr)


def cmd_init(args) -> int:
    from ..research.rundir import init_research
    from ..research.sources import get_source
    run = init_research(args.tag, args.topic, args.sources, args.questions)
    settings = run.settings()
    source = get_source(settings.sources)
    _print_skipped([str(s) for s in source.skipped()])
    print(f"created {run.path} (branch research/{args.tag}, sources {settings.sources}: "
          f"{len(source.documents())} documents)")
    if args.topic is None:
        print(f"next: write the topic and seed questions in {run.program_path}, then "
              f"deeploop research run --tag {args.tag}")
    return 0


def cmd_run(args) -> int:
    from ..research.opening import describe, execute, prepare
    from ..runs import Status
    prepared = prepare(args.tag, topic=args.topic, **_overrides(args))
    _print_skipped(prepared.skipped)
    for problem in prepared.problems:
        print(f"deeploop research: bad row kept and not counted: {problem}", file=sys.stderr)
    outcome = execute(prepared, progress=not args.no_progress and sys.stderr.isatty(),
                      report=not args.no_report)
    print(describe(prepared.run))
    if outcome["status"] in (Status.FAILED, Status.ABORTED):
        print(f"deeploop research run: {outcome['exit_reason']}", file=sys.stderr)
        return 1
    return 0


def cmd_status(args) -> int:
    from ..research.rundir import open_research
    from ..research.opening import describe
    print(describe(open_research(args.tag)))
    return 0
