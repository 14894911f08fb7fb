"""Does the two-tier loop search well on real training? (search_efficiency.py is the surrogate)

Every trial trains the shipped train.py for ``--budget`` seconds (5-10 s) in
the sandbox and is scored by the harness (score.py), exactly as in a run.
Every method gets the same knob space (search_efficiency.BOX, around the
template's defaults), the same number of trials, and starts from the same
configuration, the defaults (TPE and random search take them as their
first trial, enqueued; the loops measure them as their baseline):

- two-tier: the experiment loop with the offline proposer and the offline
  meta tier (an analysis every ``--meta-interval`` experiments);
- offline alone: the same loop with the meta tier off;
- Optuna TPE (multivariate) and random search over the box.

The defaults are first trained ``--noise-runs`` times: sigma is their sample
standard deviation, the loops keep beyond 2 sigma of it (no confirmation
runs, so every method spends the same trials), and the target is the
defaults' mean minus ``--target-sigma`` sigma. Over ``--seeds`` seeds it
prints, per method, the median (and the spread across seeds) of the best
measured val_bpb after fixed numbers of trials, and the median number of
trials to reach the target. It is CPU-heavy: on a shared machine run a
small configuration and quote it with the load average it printed.

    python bench/search_real.py --trials 8 --seeds 3 --budget 5 [--data PATH]
"""
from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from search_efficiency import BOX, DEFAULTS, OptunaSuggest, RandomSuggest, sample  # noqa: E402

from deeploop.experiment.knobs import set_knobs  # noqa: E402
from deeploop.experiment.proposers.offline import OfflineProposer  # noqa: E402
from deeploop.experiment.results import read_results  # noqa: E402
from deeploop.experiment.rundir import Settings, init_run, template_files  # noqa: E402
from deeploop.experiment.trainer import kill_timeout, run_training, scrub_env, trainer_env  # noqa: E402
from deeploop.experiment.sandbox import Sandbox, Walls  # noqa: E402
from deeploop.experiment.score import score_model  # noqa: E402
from deeploop.experiment.warm import WarmStarter  # noqa: E402
from deeploop.meta.tier import run_with_meta  # noqa: E402

TEMPLATE = template_files()["train.py"]


class Harness:
    """Trains one configuration and scores it, as the loop does: in the same
    sandbox, forked from the same warm starter (torch already imported), so
    a box-search trial gets the same training seconds as a loop experiment."""

    def __init__(self, budget: float, data: str | None, root: Path):
        os.environ["DEEPLOOP_RUNS"] = str(root)
        self.budget, self.data, self.count = budget, data, 0
        self.sandbox = Sandbox.from_mode("auto")
        self.starter = None

    def new_run(self, tag: str):
        self.close()
        run = init_run(tag, self.data)
        self.starter = WarmStarter(sys.executable, {**scrub_env(dict(os.environ)),
                                                    **self.sandbox.env()},
                                   sandbox=self.sandbox,
                                   walls=Walls(run.workspace().path, run.data_dir))
        return run

    def close(self) -> None:
        if self.starter is not None:
            self.starter.close()
            self.starter = None

    def measure(self, run, config: dict) -> float | None:
        ws = run.workspace()
        ws.write(set_knobs(TEMPLATE, config))
        self.count += 1
        log = run.logs_dir / f"trial-{self.count:03d}.log"
        env = self.sandbox.env()
        trained = run_training(ws.path, log, self.budget, run.data_dir, sandbox=self.sandbox,
                               extra_env=env, timeout=kill_timeout(self.budget),
                               starter=self.starter)
        ws.restore(ws.dirty_paths())
        if trained.fail_line or (trained.returncode not in (0, None) and not trained.stopped):
            return None
        score = score_model(ws.path, run.data_dir, log_path=log, sandbox=self.sandbox,
                            env=trainer_env(self.budget, run.data_dir, env))
        return score.val_bpb


def best_curve(values: list[float | None], trials: int) -> list[float]:
    curve, best = [], math.inf
    for value in values[:trials + 1]:
        if value is not None:
            best = min(best, value)
        curve.append(best)
    return curve + [curve[-1]] * (trials + 1 - len(curve))


def box_search(harness: Harness, seed: int, trials: int, tpe: bool) -> list[float]:
    run = harness.new_run(f"{'tpe' if tpe else 'random'}{seed}")
    defaults = {n: (1 - DEFAULTS[n] if s[0] == "one_minus" else DEFAULTS[n])
                for n, s in BOX.items()}
    values = []
    if tpe:
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(
            seed=seed, multivariate=True))
        study.enqueue_trial(defaults)
    rng = random.Random(f"random:{seed}")
    for i in range(trials + 1):
        if tpe:
            trial = study.ask()
            config = {**DEFAULTS, **{n: sample(n, s, OptunaSuggest(trial)) for n, s in BOX.items()}}
        else:
            config = dict(DEFAULTS) if i == 0 else {
                **DEFAULTS, **{n: sample(n, s, RandomSuggest(rng)) for n, s in BOX.items()}}
        value = harness.measure(run, config)
        values.append(value)
        if tpe:
            if value is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, value)
    return best_curve(values, trials)


def loop_search(harness: Harness, seed: int, trials: int, meta: bool, sigma: float,
                interval: int) -> list[float]:
    harness.close()  # the loop starts its own warm starter
    run = init_run(f"{'twotier' if meta else 'offline'}{seed}", harness.data)
    settings = Settings(experiments=trials, budget=harness.budget, seed=seed, noise_runs=0,
                        confirm=False, min_delta=round(2 * sigma, 6),
                        meta_interval=interval if meta else 0)
    for _ in run_with_meta(run, settings, proposer=OfflineProposer(seed=seed)):
        pass
    rows = read_results(run.results_path).rows
    # the best the loop would pick: its best kept row after each trial
    values = [row.val_bpb if row.counts else None for row in rows]
    return best_curve(values, trials)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=8, help="trials after the defaults")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=5.0, help="training seconds per trial")
    parser.add_argument("--noise-runs", type=int, default=3, dest="noise_runs")
    parser.add_argument("--target-sigma", type=float, default=3.0, dest="target_sigma")
    parser.add_argument("--meta-interval", type=int, default=4, dest="meta_interval")
    parser.add_argument("--data", help="corpus (default: the embedded one)")
    parser.add_argument("--methods", default="two-tier,offline,tpe,random")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="search-real-"))
    harness = Harness(args.budget, args.data, root)
    started = time.monotonic()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; sandbox "
          f"{harness.sandbox.kind}; budget {args.budget:g} s; {args.trials} trials after the "
          f"defaults; {args.seeds} seeds; corpus {args.data or 'embedded'}")
    noise_run = harness.new_run("noise")
    samples = [harness.measure(noise_run, dict(DEFAULTS)) for _ in range(args.noise_runs)]
    scored = [v for v in samples if v is not None]
    if len(scored) < 2:
        print(f"the defaults did not score twice ({samples}): no noise estimate, stopping")
        return 1
    sigma, mean = statistics.stdev(scored), statistics.mean(scored)
    if sigma == 0:
        print(f"the defaults scored {scored[0]:.4f} every time: training this short is "
              f"deterministic here (too few optimiser steps at this load?); raise --budget")
        return 1
    target = mean - args.target_sigma * sigma
    print(f"defaults: {', '.join(f'{v:.4f}' for v in scored)}; mean {mean:.4f}, sigma "
          f"{sigma:.4f}; target {target:.4f} (mean - {args.target_sigma:g} sigma)")
    methods = {
        "two-tier": lambda s: loop_search(harness, s, args.trials, True, sigma,
                                          args.meta_interval),
        "offline": lambda s: loop_search(harness, s, args.trials, False, sigma, 0),
        "tpe": lambda s: box_search(harness, s, args.trials, True),
        "random": lambda s: box_search(harness, s, args.trials, False),
    }
    wanted = [m.strip() for m in args.methods.split(",")]
    checkpoints = sorted({max(1, args.trials // 2), args.trials})
    print(f"{'method':10s} " + " ".join(f"{'best@' + str(n):>16s}" for n in checkpoints)
          + f" {'to target':>10s} {'reached':>8s}")
    # seed by seed, every method in turn, so a change in the machine's load
    # falls on every method alike rather than on whichever ran last
    curves_of = {name: [] for name in wanted}
    for seed in range(args.seeds):
        for name in wanted:
            curves_of[name].append(methods[name](seed))
    for name in wanted:
        curves = curves_of[name]
        cells = []
        for n in checkpoints:
            at = [c[n] for c in curves if math.isfinite(c[n])]
            spread = statistics.stdev(at) if len(at) > 1 else 0.0
            cells.append(f"{statistics.median(at):.4f} ± {spread:.4f}" if at else "none")
        reach = [next((i for i, v in enumerate(c) if v <= target), math.inf) for c in curves]
        reached = sum(math.isfinite(r) for r in reach)
        median = statistics.median(reach)
        print(f"{name:10s} " + " ".join(f"{c:>16s}" for c in cells)
              + f" {median if math.isfinite(median) else '-':>10} {reached}/{len(reach):>6}",
              flush=True)
    harness.close()
    print(f"{harness.count} trainings outside the loops; {time.monotonic() - started:.0f} s "
          f"wall; load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
