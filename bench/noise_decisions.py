"""How often the loop's keep rule keeps luck, and how often it keeps a real effect.

A simulation of the decisions only (``decide.py``'s pure functions, as the
loop calls them): scores drawn from N(effect, sigma=1), the baseline run
1 + ``--noise-runs`` times, sigma estimated from those runs and pooled with
each confirmation's pair, every gain above one standard error trained again
(``--confirm``). Prints, over ``--runs`` simulated runs: the mean number of
zero-effect changes kept in ``--experiments`` experiments and the share of
runs that keep none, then the share of single experiments that keep a change
worth 4 sigma. No training, no torch: seconds.

    python bench/noise_decisions.py [--runs 2000] [--experiments 40] [--noise-runs 3]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys

from deeploop.experiment import decide
from deeploop.experiment.results import RowStatus


def one_run(rng: random.Random, effect: float, experiments: int, noise_runs: int,
            keep_sigma: float, confirm: bool) -> int:
    """Keeps in one simulated run of ``experiments`` changes worth ``effect`` sigma."""
    baseline = [rng.gauss(0.0, 1.0) for _ in range(1 + noise_runs)]
    best, best_runs, pairs, keeps = statistics.fmean(baseline), len(baseline), [], 0
    for _ in range(experiments):
        sigma = decide.noise_sigma(baseline, pairs)
        first = rng.gauss(-effect, 1.0)
        margin = decide.noise_min_delta(sigma, keep_sigma, best_runs)
        status, _ = decide.decide_keep(first, best, margin)
        verdict = decide.Verdict(status, "", first)
        if confirm and decide.needs_confirmation(verdict, best, sigma, best_runs):
            again = rng.gauss(-effect, 1.0)
            pairs.append((first, again))
            verdict = decide.confirmed(verdict, again, best, sigma, keep_sigma, best_runs)
        if verdict.status == RowStatus.KEEP:
            keeps += 1
            best, best_runs = verdict.val_bpb, 2 if confirm else 1
    return keeps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--experiments", type=int, default=40)
    parser.add_argument("--noise-runs", type=int, default=3)
    parser.add_argument("--keep-sigma", type=float, default=2.0)
    parser.add_argument("--no-confirm", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    confirm = not args.no_confirm
    null = [one_run(rng, 0.0, args.experiments, args.noise_runs, args.keep_sigma, confirm)
            for _ in range(args.runs)]
    real = [one_run(rng, 4.0, 1, args.noise_runs, args.keep_sigma, confirm)
            for _ in range(args.runs)]
    print(f"keep-sigma {args.keep_sigma:g}, {args.noise_runs} noise runs, "
          f"confirmation {'on' if confirm else 'off'}, {args.runs} simulated runs")
    print(f"zero-effect changes kept in {args.experiments} experiments: "
          f"{statistics.fmean(null):.2f} on average; none in {100 * null.count(0) / len(null):.0f} % of runs")
    print(f"a change worth 4 sigma kept: {100 * sum(real) / len(real):.0f} % of the time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
