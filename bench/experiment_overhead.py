"""Harness overhead of the experiment loop at the default budget.

Runs a real loop (the shipped train.py, the offline proposer, the sandbox
and the harness's own scoring) in a temporary runs folder: the baseline plus
``--experiments`` experiments, no noise runs. For each it prints the
experiment's wall time, its training seconds, the harness's scoring
seconds and the overhead (wall minus training: process start-up, imports,
data, the scorer, git, proposal) as a share of the budget. Goals: <= 5 % at
the 60 s budget, <= 10 % at 30 s (``GOALS``). The machine's load goes into
every figure: quote it beside them. The overhead's work is fixed while the
budget is wall-clock, so on a loaded machine the share grows with the load;
two load-robust figures go beside it: the scorer's CPU seconds (warm start)
and scoring measured in training steps of the same experiment (score
seconds / seconds per step: both slow down alike).

    python bench/experiment_overhead.py [--experiments 2] [--budget SECONDS ...]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

from deeploop.experiment.evaluate import time_budget
from deeploop.experiment.rundir import Settings, init_run
from deeploop.experiment.resume import run_experiments

GOALS = {60.0: 5.0, 30.0: 10.0}  # budget seconds -> overhead goal, % of the budget


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, default=2)
    parser.add_argument("--budget", type=float, nargs="+", default=None,
                        help="training seconds (default: the template's default budget)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for budget in args.budget or [time_budget()]:
        measure(budget, args.experiments)
    return 0


def measure(budget: float, experiments: int) -> None:
    goal = GOALS.get(budget, 5.0)
    with tempfile.TemporaryDirectory(prefix="deeploop-overhead-") as tmp:
        os.environ["DEEPLOOP_RUNS"] = tmp
        run = init_run("overhead")
        settings = Settings(experiments=experiments, budget=budget, noise_runs=0)
        print(f"budget {budget:g} s")
        print(f"{'exp':>3} {'status':8} {'wall s':>7} {'train s':>8} {'score s':>8} "
              f"{'overhead s':>10} {'% budget':>8} {'steps':>5} {'score cpu s':>11} "
              f"{'score/step':>10} {'load':>5}  (propose s, trainer wall s)")
        shares = []
        for event in run_experiments(run, settings):
            if event["type"] != "experiment_result" or event["status"] == "rejected":
                continue
            timing = event["timing"]
            training = timing.get("training_seconds") or 0.0
            overhead = timing["total_s"] - training
            shares.append(100 * overhead / budget)
            steps = (event.get("metrics") or {}).get("num_steps") or 0
            score_s = timing.get("score_s") or 0.0
            cpu = (event.get("score") or {}).get("cpu_s")
            in_steps = score_s / (training / steps) if steps and training else float("nan")
            print(f"{event['round']:3d} {event['status']:8} {timing['total_s']:7.2f} "
                  f"{training:8.2f} {score_s:8.2f} {overhead:10.2f} "
                  f"{shares[-1]:7.1f}% {steps:5.0f} {cpu if cpu is not None else float('nan'):11.2f} "
                  f"{in_steps:10.1f} {os.getloadavg()[0]:5.1f}"
                  f"  ({timing['propose_s']:.2f}, {timing['train_wall_s']:.2f})"
                  + (f"  {event.get('reason')}" if event["status"] == "crash" else ""))
    if shares:
        later = shares[1:] or shares  # the first run also measures the CPU peak once
        mean = sum(later) / len(later)
        print(f"mean overhead after the first experiment: {mean:.1f}% of a {budget:g} s budget "
              f"(goal <= {goal:.0f}%: {'met' if mean <= goal else 'NOT met'})")


if __name__ == "__main__":
    sys.exit(main())
