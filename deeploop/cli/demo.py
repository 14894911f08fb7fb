"""``deeploop demo``: the main job on the embedded offline default.

Runs the reference commit-msg node through a meta-loop with the offline
"student" model, in a fresh folder so every demo starts from no lessons and
the repository stays untouched, and shows the score climb as lessons are
promoted.
"""
from __future__ import annotations

from datetime import datetime, timezone


def register(sub) -> None:
    p = sub.add_parser("demo", help="watch the commit-msg node teach itself (offline)",
                       description="Run the commit-msg meta-loop (6 runs, feedback after "
                                   "each, hard cap 3) with the offline mock model in a fresh "
                                   "folder under the runs root, starting from an empty BANS.md.")
    p.add_argument("--runs", type=int, default=6, metavar="N", help="runs in the meta-loop (6)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    from ..budget import Budget
    from ..metaloop import run_meta_loop, sandbox
    from ..models import get_model
    from ..runs import runs_root

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    home = runs_root() / "demo" / stamp
    box = sandbox("commit-msg", home)
    result = run_meta_loop(box.node, box.seed, lambda: get_model("mock:commit-msg"),
                           runs=args.runs, budget=Budget(max_rounds=3), root=box.runs)
    climb = " -> ".join(f"{score}" for score in result.scores)
    print(f"\nscore climb: {climb}")
    print(f"runs:    {box.runs / 'commit-msg'}")
    print(f"lessons: {box.node.bans_path}")
    print(f"inspect: DEEPLOOP_RUNS={box.runs} deeploop runs")
    return 0
