"""Drill at scale: a 10,000-node tree built by applying answers.

Prints apply-answer timings (goal: median <= 1 ms), text and HTML renders of
the whole tree (goal: <= 1 s each), save + load of tree.json (goal: <= 0.5 s),
one full session round on the big tree (answer + atomic tree.json + events),
and the process's peak memory (goal: <= 300 MB). Figures only, no asserts.
"""
from __future__ import annotations

import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deeploop.drill import (BEDROCK_CATEGORIES, Drill, apply_action, load_tree,  # noqa: E402
                            new_tree, parse_answer, render_html, render_text, save_tree)

TARGET_NODES = 10_000


def next_answer(rng: random.Random, tree, step: int) -> str:
    """A plausible mix: mostly deeper claims, some parallel causes, some bedrock.
    Bedrock never closes the last few open leaves, so the tree keeps growing."""
    depth = len(tree.cursor)
    if depth == 0:
        return f"cause {step}: the first reason a person would give"
    roll = rng.random()
    if (depth >= 10 or roll < 0.15) and tree.root.open_leaves > 3:
        return f"BEDROCK:{BEDROCK_CATEGORIES[step % 6]} — rationale for step {step}"
    if roll < 0.45 or depth >= 10:
        return f"BRANCH:parallel cause {step}, also pushing the same way"
    return f"deeper claim {step}: because of what sits underneath the last one"


def build(target: int = TARGET_NODES):
    rng = random.Random(0)
    tree, nodes, timings, step = new_tree("Why does our checkout funnel keep regressing?"), 1, [], 0
    while nodes < target:
        text = next_answer(rng, tree, step)
        started = time.perf_counter()
        tree = apply_action(tree, parse_answer(text)).tree
        timings.append(time.perf_counter() - started)
        nodes += 1
        step += 1
        if tree.finished:
            raise SystemExit("the bench tree closed before reaching its size; change the mix")
    return tree, timings


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def session_round(tree, folder: Path) -> float:
    """Median of 20 rounds of a real session on the big tree (writes every round)."""
    session = Drill.start("bench", root=folder / "runs", hard_cap=10_000)
    session.tree = tree  # start the session from the big tree
    save_tree(tree, session.run_dir / "tree.json")
    rounds = []
    for i in range(20):
        session.ask()
        started = time.perf_counter()
        session.answer(f"round {i} claim" if i % 5 else "BRANCH:a parallel cause")
        rounds.append(time.perf_counter() - started)
    session.close()
    return statistics.median(rounds)


def main() -> None:
    tree, timings = build()
    ms = sorted(t * 1000 for t in timings)
    print(f"tree: {tree.root.leaves + _internal(tree)} nodes, {tree.root.leaves} leaves "
          f"({tree.root.closed} at bedrock), max depth {tree.root.height}")
    print(f"apply answer (parse + apply): median {statistics.median(ms):.3f} ms, "
          f"p99 {ms[int(len(ms) * 0.99)]:.3f} ms, max {ms[-1]:.3f} ms  (goal: median <= 1 ms)")
    print(f"render text:  {timed(lambda: render_text(tree)) * 1000:.1f} ms  "
          f"({len(render_text(tree)) / 1e6:.2f} MB)  (goal: <= 1 s)")
    print(f"render html:  {timed(lambda: render_html(tree)) * 1000:.1f} ms  "
          f"({len(render_html(tree)) / 1e6:.2f} MB)  (goal: <= 1 s)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tree.json"
        save = timed(lambda: save_tree(tree, path))
        load = timed(lambda: load_tree(path))
        size = path.stat().st_size / 1e6
        print(f"save + load tree.json: {(save + load) * 1000:.1f} ms (save {save * 1000:.1f}, "
              f"load {load * 1000:.1f}; {size:.2f} MB)  (goal: <= 0.5 s)")
        print(f"session round on the big tree (answer + tree.json + events): "
              f"median {session_round(tree, Path(tmp)) * 1000:.1f} ms")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:.0f} MB  (goal: <= 300 MB)")


def _internal(tree) -> int:
    from deeploop.drill.tree import iter_nodes
    return sum(1 for node, _, _ in iter_nodes(tree.root) if node.children)


if __name__ == "__main__":
    main()
