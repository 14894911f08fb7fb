"""Harness overhead of the experiment loop at the default budget.

Runs a real loop (the shipped train.py, the offline proposer) in a temporary
runs folder: the baseline plus ``--experiments`` experiments. For each it
prints the experiment's wall time, its training seconds and the overhead
(wall minus training: process start-up, imports, data, evaluation, git,
proposal), and the overhead as a share of the budget. Goal: <= 5 %.

    python bench/experiment_overhead.py [--experiments 2] [--budget SECONDS]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

from deeploop.experiment.evaluate import time_budget
from deeploop.experiment.rundir import Settings, init_run
from deeploop.experiment.session import run_experiments

GOAL = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, default=2)
    parser.add_argument("--budget", type=float, default=None,
                        help="training seconds (default: the template's default budget)")
    args = parser.parse_args()
    budget = args.budget or time_budget()
    with tempfile.TemporaryDirectory(prefix="deeploop-overhead-") as tmp:
        os.environ["DEEPLOOP_RUNS"] = tmp
        run = init_run("overhead")
        settings = Settings(experiments=args.experiments, budget=budget)
        print(f"{'exp':>3} {'status':8} {'wall s':>7} {'train s':>8} {'overhead s':>10} "
              f"{'% budget':>8}  (propose s, trainer wall s)")
        shares = []
        for event in run_experiments(run, settings):
            if event["type"] != "experiment_result" or event["status"] == "rejected":
                continue
            timing = event["timing"]
            training = timing.get("training_seconds") or 0.0
            overhead = timing["total_s"] - training
            shares.append(100 * overhead / budget)
            print(f"{event['round']:3d} {event['status']:8} {timing['total_s']:7.2f} "
                  f"{training:8.2f} {overhead:10.2f} {shares[-1]:7.1f}%  "
                  f"({timing['propose_s']:.2f}, {timing['train_wall_s']:.2f})")
    if shares:
        later = shares[1:] or shares  # the first run also measures the CPU peak once
        mean = sum(later) / len(later)
        print(f"mean overhead after the first experiment: {mean:.1f}% of a {budget:g} s budget "
              f"(goal <= {GOAL:.0f}%: {'met' if mean <= GOAL else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
