"""Harness overhead of the node loop, feedback and the meta-loop.

Prints:
- harness time per round with an instant model and judge (goal <= 2 ms median);
- feedback over 1,000 runs x 20 rounds (goal <= 2 s);
- the whole 6-run commit-msg meta-loop from the shell, interpreter start
  included (goal <= 1 s; the reference bash harness takes about 16 s here),
  against a bare `python -c pass` measured in the same run; with
  `--no-report`, as the reference builds no reports;
- its peak memory (goal <= 150 MB);
- the same meta-loop as it runs by default, each run ending with its report.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from deeploop.budget import Budget  # noqa: E402
from deeploop.lessons import feedback  # noqa: E402
from deeploop.nodeloop.loop import run_node  # noqa: E402
from deeploop.models.scripted import ScriptedModel  # noqa: E402
from deeploop.nodes import load_node  # noqa: E402


def per_round(tmp: Path, rounds: int = 500) -> float:
    node_dir = tmp / "nodes" / "instant"
    node_dir.mkdir(parents=True)
    (node_dir / "PROMPT.md").write_text("Say ok.\n")
    (node_dir / "judge.py").write_text("def judge(output, ctx):\n    return 0.5, ['x'], {}\n")
    marks = []
    run_node(load_node(node_dir), "seed", ScriptedModel(["ok"]), root=tmp / "runs",
             budget=Budget(max_rounds=rounds),
             on_event=lambda e: marks.append(time.perf_counter())
             if e["type"] == "ralph_iter_end" else None)
    return statistics.median(b - a for a, b in zip(marks, marks[1:]))


def make_runs(root: Path, runs: int, rounds: int) -> None:
    node = root / "big"
    for i in range(runs):
        run_id = f"big-{i:05d}"
        run_dir = node / run_id
        run_dir.mkdir(parents=True)
        lines = []
        for r in range(1, rounds + 1):
            env = {"ts": f"2026-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                   "run_id": run_id, "node": "big", "round": r}
            lines.append({**env, "type": "agent_output", "output": "feat: Added thing."})
            lines.append({**env, "type": "judge_result", "score": 0.5,
                          "violations": [f"rule-{(i + r) % 7}", "verb-tense"], "detail": {}})
            lines.append({**env, "type": "ralph_iter_end", "done": False, "reason": "x"})
        (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))


def feedback_time(tmp: Path, window: int) -> float:
    node_dir = tmp / f"nodes-fb-{window}" / "big"
    node_dir.mkdir(parents=True)
    (node_dir / "PROMPT.md").write_text("p\n")
    (node_dir / "judge.py").write_text("def judge(o, c):\n    return 1, [], {}\n")
    start = time.perf_counter()
    feedback(load_node(node_dir), window=window, threshold=2, root=tmp / "fb-runs")
    return time.perf_counter() - start


def shell_meta_loop(tmp: Path, report: bool = False) -> tuple[float, float, float]:
    """(wall, bare interpreter start, peak MB of the largest child so far)."""
    nodes = tmp / ("shell-nodes-report" if report else "shell-nodes")
    shutil.copytree(REPO / "nodes" / "commit-msg", nodes / "commit-msg")
    (nodes / "commit-msg" / "BANS.md").write_text("")
    env = dict(os.environ, DEEPLOOP_NODES=str(nodes), DEEPLOOP_RUNS=str(nodes.parent / f"{nodes.name}-runs"),
               PYTHONPATH=str(REPO))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "deeploop", "meta-loop", "commit-msg", "--seed",
                    str(nodes / "commit-msg" / "sample-seed.md"), "--runs", "6", "--hard-cap", "3",
                    "--model", "mock:commit-msg"] + ([] if report else ["--no-report"]),
                   check=True, env=env,
                   stdout=subprocess.DEVNULL, cwd=tmp)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, bare, peak_mb


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        ms = per_round(tmp) * 1000
        print(f"harness per round (instant model+judge, median of 500): {ms:.3f} ms  "
              f"(goal <= 2 ms)")
        make_runs(tmp / "fb-runs", 1000, 20)
        print(f"feedback, 1,000 runs x 20 rounds, window 5:     {feedback_time(tmp, 5):.3f} s  "
              f"(goal <= 2 s)")
        print(f"feedback, 1,000 runs x 20 rounds, window 1000:  {feedback_time(tmp, 1000):.3f} s")
        wall, bare, peak = shell_meta_loop(tmp)
        print(f"6-run commit-msg meta-loop from the shell, --no-report: {wall:.3f} s  (goal <= 1 s; "
              f"reference bash harness ~16 s)")
        print(f"  bare interpreter start in the same run:       {bare:.3f} s  "
              f"(meta-loop = {wall / bare:.1f} x a bare start)")
        print(f"  peak memory of the meta-loop process:         {peak:.1f} MB  (goal <= 150 MB)")
        wall, _, _ = shell_meta_loop(tmp, report=True)
        print(f"  the same, each run ending with its report.html (a kernel each): {wall:.1f} s "
              "(bench/report_speed.py measures reports)")


if __name__ == "__main__":
    main()
