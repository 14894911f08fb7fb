"""Whole offline research iterations on the stdlib sample, printing figures only.

Runs ``--entries`` iterations of the real loop (offline synthesiser over
``sample:stdlib``, git workspace, judge, cohort analyses every 5 entries) in
a temporary runs folder and times, per iteration, the two halves an event
boundary separates:

- retrieval + synthesis (``research_started`` → ``research_synthesised``);
- settle + write + commit + judge (→ ``research_result``), mostly git;

then the cohort analyses, the whole run, and a resume that has nothing to
do (lock, replay, recovery checks). Goal: an iteration well under a second,
so the loop's cost is the synthesiser's, never the harness's.

    python bench/research_loop.py [--entries 20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="deeploop-bench-research-")
    os.environ["DEEPLOOP_RUNS"] = os.path.join(home, "runs")
    os.environ.setdefault("DEEPLOOP_CACHE", os.path.join(home, "cache"))
    from deeploop.research.opening import execute, prepare

    marks: dict[tuple[str, int | None], float] = {}

    def mark(event: dict) -> None:
        marks[(event["type"], event.get("round") or event.get("cohort"))] = time.perf_counter()

    questions = ["How do asyncio tasks get cancelled?", "What does a threading lock do?",
                 "How does a queue pass work between threads?"]
    prepared = prepare("bench", topic="concurrency in the Python standard library",
                       questions=questions, entries=args.entries)
    started = time.perf_counter()
    outcome = execute(prepared, progress=False, report=False, on_event=mark)
    total = time.perf_counter() - started
    rounds = sorted(r for kind, r in marks if kind == "research_result")
    synth = [marks[("research_synthesised", r)] - marks[("research_started", r)] for r in rounds]
    write = [marks[("research_result", r)] - marks[("research_synthesised", r)] for r in rounds]
    cohorts = [r for kind, r in marks if kind == "meta_analysis"]
    started = time.perf_counter()
    execute(prepare("bench"), progress=False, report=False)
    resume = time.perf_counter() - started
    print("---")
    print(f"entries: {outcome['entries']} ({outcome['confidence']})")
    print(f"iteration_median_ms: {1000 * statistics.median([a + b for a, b in zip(synth, write)]):.1f}")
    print(f"synthesis_median_ms: {1000 * statistics.median(synth):.1f}")
    print(f"write_commit_judge_median_ms: {1000 * statistics.median(write):.1f}")
    print(f"cohort_analyses: {len(cohorts)}")
    print(f"run_seconds: {total:.2f}")
    print(f"resume_nothing_to_do_seconds: {resume:.2f}")
    print(f"judge_mean_score: {outcome['final_score']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
