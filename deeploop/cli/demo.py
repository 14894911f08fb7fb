"""``deeploop demo``: the main job on the embedded offline default.

By default: the offline experiment session, headless. ``notebooks/
experiment_session.ipynb`` runs under papermill: a measured baseline, then
experiments that each change train.py, train on the embedded corpus for a
short budget and are kept or discarded, with a meta-analysis in the middle
that rewrites the strategy. Progress is read from the run's events.jsonl as
it grows (the files are the truth) and the path of report.html is printed.

``--node-loop`` runs the reference commit-msg node instead: a meta-loop with
the offline "student" model whose score climbs 0.25 -> 1.0 as lessons are
promoted, in a fresh folder so every demo starts from no lessons.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

from ..errors import NotFound

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "experiment_session.ipynb"


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the offline experiment session (or --node-loop)",
                       description="Run notebooks/experiment_session.ipynb headless on the "
                                   "embedded corpus: a baseline and N short experiments with a "
                                   "meta-analysis in the middle, ending with report.html. "
                                   "--node-loop runs the commit-msg meta-loop instead.")
    p.add_argument("--experiments", type=int, default=8, metavar="N",
                   help="experiments after the baseline (8)")
    p.add_argument("--budget", type=float, default=30.0, metavar="S",
                   help="training seconds per experiment (30)")
    p.add_argument("--meta-interval", type=int, default=4, metavar="K",
                   help="a meta-analysis after every K experiments (4)")
    p.add_argument("--node-loop", action="store_true",
                   help="run the commit-msg meta-loop (6 runs, hard cap 3) instead")
    p.add_argument("--runs", type=int, default=6, metavar="N",
                   help="with --node-loop: runs in the meta-loop (6)")
    p.set_defaults(func=cmd_demo)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def cmd_demo(args) -> int:
    return node_loop_demo(args.runs) if args.node_loop else experiment_demo(args)


def experiment_demo(args) -> int:
    from ..notebook.session import run_session
    from ..runs import runs_root
    if not NOTEBOOK.is_file():
        raise NotFound(f"the demo notebook is missing: {NOTEBOOK} (run from a clone of the "
                       "repository)")
    tag = f"demo-{_stamp()}"
    run_dir = runs_root() / "experiment" / tag
    print(f"experiment session {tag}: baseline + {args.experiments} experiments of "
          f"{args.budget:g} s, meta-analysis every {args.meta_interval}")
    done = threading.Event()
    tail = threading.Thread(target=_follow, args=(run_dir / "events.jsonl", done), daemon=True)
    tail.start()
    try:
        result = run_session(NOTEBOOK, {"tag": tag, "experiments": args.experiments,
                                        "budget": args.budget,
                                        "meta_interval": args.meta_interval},
                             progress=False)
    finally:
        done.set()
        tail.join(timeout=5)
    report = result.run_dir / "report.html"
    print(f"\nrun folder: {result.run_dir}")
    if report.is_file():
        print(f"report:     {report}")
    else:  # the session warned why; the run itself is recorded
        print(f"report:     not built; try: deeploop report {result.run_dir}")
    return 0


def _follow(events_path: Path, done: threading.Event) -> None:
    """Print each experiment and analysis as the run records it."""
    from ..events import parse_lines
    offset = 0
    while True:
        finished = done.wait(1.0)
        try:
            with open(events_path, encoding="utf-8") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except FileNotFoundError:
            chunk = ""
        complete = chunk[:chunk.rfind("\n") + 1]  # a half-written line waits
        offset += len(complete.encode("utf-8"))
        for event in parse_lines(complete.splitlines()).events:
            line = describe(event)
            if line:
                print(line, flush=True)
        if finished:
            return


def describe(event: dict) -> str | None:
    kind = event.get("type")
    if kind == "experiment_result":
        value = event.get("val_bpb")
        shown = f"{value:.6f}" if isinstance(value, (int, float)) else f"{'-':<8}"
        margin = event.get("margin_sigma")
        noted = f"  ({margin:+.1f} sigma)" if margin is not None else ""
        again = (event.get("confirm") or {}).get("again")
        if isinstance(again, (int, float)):
            noted += f"  confirmed by a second run: {again:.6f}"
        number = event.get("experiment", event.get("round", "?"))
        label = ("noise run    " if number == 0 and event.get("round", 0) > 0  # the baseline again
                 else f"experiment {number:>2}")
        return (f"  {label}  {event.get('status', '?'):<8} "
                f"val_bpb {shown}  {event.get('description') or ''}{noted}")
    if kind == "noise_estimated" and event.get("sigma"):
        return (f"  noise: sigma {event['sigma']:.6f} from {len(event.get('samples') or [])} "
                f"baseline runs; a keep must beat the best by {event.get('min_delta'):.6f}")
    if kind == "sandbox_unavailable":
        return f"  sandbox: none ({event.get('reason')}); the harness still scores"
    if kind == "meta_analysis":
        top = (event.get("hypotheses") or [{}])[0]
        return (f"  meta-analysis {event.get('analysis')}: strategy rewritten; next: "
                f"{top.get('change', '?')}")
    return None


def node_loop_demo(runs: int) -> int:
    from ..budget import Budget
    from ..nodeloop.metaloop import run_meta_loop, sandbox
    from ..models import get_model
    from ..runs import runs_root
    box = sandbox("commit-msg", runs_root() / "demo" / _stamp())
    result = run_meta_loop(box.node, box.seed, lambda: get_model("mock:commit-msg"),
                           runs=runs, budget=Budget(max_rounds=3), root=box.runs)
    climb = " -> ".join(f"{score}" for score in result.scores)
    print(f"\nscore climb: {climb}")
    print(f"runs:    {box.runs / 'commit-msg'}")
    print(f"lessons: {box.node.bans_path}")
    print(f"inspect: DEEPLOOP_RUNS={box.runs} deeploop runs")
    return 0
