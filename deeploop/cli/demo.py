"""``deeploop demo``: the main job on the embedded offline default.

Runs the reference commit-msg node through a meta-loop with the offline
"student" model, in a fresh folder so every demo starts from no lessons and
the repository stays untouched, and shows the score climb as lessons are
promoted.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("demo", help="watch the commit-msg node teach itself (offline)",
                       description="Run the commit-msg meta-loop (6 runs, feedback after "
                                   "each, hard cap 3) with the offline mock model in a fresh "
                                   "folder under the runs root, starting from an empty BANS.md.")
    p.add_argument("--runs", type=int, default=6, metavar="N", help="runs in the meta-loop (6)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    from ..budget import Budget
    from ..metaloop import run_meta_loop
    from ..models import get_model
    from ..nodes import find_node, load_node
    from ..runs import runs_root

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    home = runs_root() / "demo" / stamp
    shipped = find_node("commit-msg")
    node_dir = home / "nodes" / "commit-msg"
    shutil.copytree(shipped.path, node_dir, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    (node_dir / "BANS.md").write_text("", encoding="utf-8")
    node = load_node(node_dir)
    seed = (node_dir / "sample-seed.md").read_text(encoding="utf-8")
    result = run_meta_loop(node, seed, lambda: get_model("mock:commit-msg"), runs=args.runs,
                           budget=Budget(max_rounds=3), root=home / "runs")
    climb = " -> ".join(f"{r.outcome.final_score}" for r in result.runs)
    print(f"\nscore climb: {climb}")
    print(f"runs:    {home / 'runs' / 'commit-msg'}")
    print(f"lessons: {node.bans_path}")
    print(f"inspect: DEEPLOOP_RUNS={home / 'runs'} deeploop runs")
    return 0
