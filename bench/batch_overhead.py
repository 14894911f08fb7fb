"""Batch overhead: what a batch adds per session, and what parallel workers buy.

Runs small batches of a notebook whose one real cell takes a known time,
either waiting (like a session that waits on a model API or a subprocess)
or computing (a busy loop). Prints:

- per-session overhead of batch execution over the notebook's own run time,
  with one worker (goal <= 3 s): kernel start-up, papermill, status files,
  the session.html export and the index, plus the pool's start-up amortised;
- the speed-up of 4 workers over 1 for both kinds of notebook. Waiting
  sessions overlap freely; computing ones are bounded by the cores.

    python bench/batch_overhead.py [--sessions N] [--seconds S]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from deeploop.notebook.batch import run_batch

GOAL_SECONDS = 3.0
WORK = {
    "wait": "import time\ntime.sleep(seconds)",
    "compute": "import time\nstart = time.process_time()\n"
               "while time.process_time() - start < seconds:\n    pass",
}


def write_notebook(folder: Path, kind: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("seconds: float = 1.0  # how long the work takes\n"
                                       "index: int = 0  # tells the sessions apart")
    params.metadata.tags = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(WORK[kind]),
                nbformat.v4.new_code_cell("from deeploop.notebook import record_headline\n"
                                          "record_headline(index, label='index')")]
    path = folder / f"{kind}.ipynb"
    nbformat.write(nb, str(path))
    return path


def timed_batch(folder: Path, kind: str, sessions: int, seconds: float, workers: int):
    """Wall time of one fresh batch, and the sessions' own recorded times."""
    notebook = write_notebook(folder, kind)
    grid = folder / f"{kind}-{workers}.yaml"
    grid.write_text(f"notebook: {notebook.name}\nout: out-{kind}-{workers}\n"
                    f"parameters: {{seconds: {seconds}}}\n"
                    f"grid: {{index: {list(range(sessions))}}}\n")
    start = time.monotonic()
    result = run_batch(grid, workers=workers)
    wall = time.monotonic() - start
    if not result.all_passed:
        sys.exit(f"bench batch failed: {result.counts} (see {result.index})")
    session_seconds = [row.seconds for row in result.rows]
    return wall, session_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.5)
    args = parser.parse_args()
    n, s = args.sessions, args.seconds
    print(f"machine: {os.cpu_count()} cores; {n} sessions per batch; "
          f"the notebook's own work: {s:.1f} s")
    with tempfile.TemporaryDirectory(prefix="deeploop-bench-") as tmp:
        folder = Path(tmp)
        walls = {}
        for kind in ("wait", "compute"):
            for workers in (1, 4):
                walls[kind, workers], own = timed_batch(folder, kind, n, s, workers)
                if (kind, workers) == ("wait", 1):
                    report_overhead(walls[kind, workers], own, n, s)
        for kind in ("wait", "compute"):
            one, four = walls[kind, 1], walls[kind, 4]
            label = {"wait": "waiting", "compute": "computing"}[kind]
            print(f"speed-up, 4 workers over 1 ({label} notebook): "
                  f"{one:.1f} s -> {four:.1f} s = {one / four:.2f}x")


def report_overhead(wall: float, own: list[float], n: int, s: float) -> None:
    per_session = wall / n - s
    in_session = sum(own) / len(own) - s
    verdict = "ok" if per_session <= GOAL_SECONDS else "OVER GOAL"
    print(f"batch overhead per session (1 worker): {per_session:.2f} s over the notebook's "
          f"own {s:.1f} s (goal <= {GOAL_SECONDS:.0f} s: {verdict})")
    print(f"  of which kernel start-up and papermill inside the session: {in_session:.2f} s; "
          f"status files, HTML export, index and pool start-up: {per_session - in_session:.2f} s")


if __name__ == "__main__":  # the worker pool re-imports this file: keep the guard
    main()
