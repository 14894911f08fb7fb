"""SURROGATE: does the two-tier loop search well on a synthetic objective (no training)?

This bench never trains: the objective is a hand-written response surface of
the same model class the offline analyst fits, so its figures say how the
search machinery behaves, not how well it finds real gains. For that, see
bench/search_real.py (real training, scored by the harness).

Each method gets the baseline plus the same number of experiments on
``bench/support/synthetic.py``'s ``surface`` (the template's knobs; a response
surface with interactions, noise and crash regions; no training):

- two-tier: the real experiment loop (git workspace, offline proposer,
  steering) with the real offline meta-analysis tier, the objective injected
  in place of the training subprocess;
- offline alone: the same loop with the meta tier off (an ablation);
- random search and Optuna's TPE sampler over a box around the defaults
  (each rate x/÷ 4, each shape a few steps either way), the default config
  as their first trial.

Every method gets the same number of trainings: the loop's include its
baseline repeats (3 noise runs) and the re-runs that confirm a gain, so it
proposes fewer changes than the others try. A method's "best" after n
trainings is the true (noiseless) val_bpb of the configuration it would
pick then: the best kept commit for the loop, the
best measured trial for the others, so lucky noise is not counted as
progress. Over 10 seeds it prints the median best after 12, 24 and 48
experiments and the median number of experiments to reach the target.
Goal: two-tier beats random search and matches or beats TPE.
"""
from __future__ import annotations

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

from deeploop.experiment.proposers.offline import OfflineProposer  # noqa: E402
from deeploop.experiment.results import read_results  # noqa: E402
from deeploop.experiment.rundir import Settings, init_run  # noqa: E402
from bench.support.synthetic import (NOISE, objective_scorer, objective_trainer, surface,  # noqa: E402
                                     template_knobs)
from deeploop.meta.tier import run_with_meta  # noqa: E402

SEEDS = int(os.environ.get("SEARCH_SEEDS", 10))
ONLY = os.environ.get("SEARCH_METHODS", "")  # e.g. "two-tier,offline" to run some only
EXPERIMENTS = 48
CHECKPOINTS = (12, 24, 48)
DEFAULTS = template_knobs()
TARGET_SHARE = 0.05  # target: 5 % below the default configuration's true val_bpb


# -- the box random search and TPE sample from ---------------------------------------
def _log_box(name: str, lo_cap: float = 0.0, hi_cap: float = math.inf):
    value = DEFAULTS[name]
    return ("log", max(value / 4, lo_cap), min(value * 4, hi_cap))


BOX = {
    "DEPTH": ("int", 1, 6), "WIDTH": ("choice", [64, 96, 128, 160, 192, 224, 256]),
    "HEADS": ("choice", [1, 2, 4, 8]), "MLP_RATIO": ("int", 1, 6),
    "SEQ_LEN": ("choice", [32, 64, 128, 256, 512]), "BATCH_SIZE": ("choice", [8, 16, 32, 64, 128]),
    "MATRIX_LR": _log_box("MATRIX_LR"), "EMBED_LR": _log_box("EMBED_LR"),
    "NGRAM_LR": _log_box("NGRAM_LR"), "NGRAM_ORDER": ("int", 1, 8),
    "NGRAM_BUCKETS": ("logint", 4096, 2 ** 20),
    "MOMENTUM": ("one_minus", 0.8, 0.99), "BETA1": ("one_minus", 0.6, 0.98),
    "BETA2": ("one_minus", 0.8, 0.995), "WARMUP_FRAC": ("float", 0.0, 0.2),
    "WARMDOWN_FRAC": ("float", 0.0, 0.8), "FINAL_LR_FRAC": ("float", 0.0, 0.5),
    "GRAD_CLIP": ("log", 0.25, 4.0),
}


def sample(name: str, spec, suggest) -> object:
    """One value of a knob through ``suggest`` (a random or an Optuna backend)."""
    kind = spec[0]
    if kind == "choice":
        return suggest.choice(name, spec[1])
    if kind == "int":
        return suggest.int(name, spec[1], spec[2], False)
    if kind == "logint":
        return suggest.int(name, spec[1], spec[2], True)
    if kind == "one_minus":  # 1 - value on a log scale, as momentum is usually searched
        return round(1 - suggest.float(name, 1 - spec[2], 1 - spec[1], True), 4)
    return round(suggest.float(name, spec[1], spec[2], kind == "log"), 6)


class RandomSuggest:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def choice(self, name, options):
        return self.rng.choice(options)

    def int(self, name, lo, hi, log):
        if log:
            return int(round(math.exp(self.rng.uniform(math.log(lo), math.log(hi)))))
        return self.rng.randint(lo, hi)

    def float(self, name, lo, hi, log):
        return math.exp(self.rng.uniform(math.log(lo), math.log(hi))) if log \
            else self.rng.uniform(lo, hi)


class OptunaSuggest:
    def __init__(self, trial):
        self.trial = trial

    def choice(self, name, options):
        return self.trial.suggest_categorical(name, options)

    def int(self, name, lo, hi, log):
        return self.trial.suggest_int(name, lo, hi, log=log)

    def float(self, name, lo, hi, log):
        return self.trial.suggest_float(name, lo, hi, log=log)


def measure(config: dict, rng: random.Random) -> float | None:
    true = surface(config)
    return None if true is None else true + rng.gauss(0, NOISE)


def incumbent_curve(trials: list[tuple[dict, float | None]]) -> list[float]:
    """True value of the best-measured config after each trial (index 0 = default)."""
    curve, best, pick = [], math.inf, None
    for config, measured in trials:
        if measured is not None and measured < best:
            best, pick = measured, config
        curve.append(surface(pick) if pick is not None else math.nan)
    return curve


# -- the methods ------------------------------------------------------------------------
def random_search(seed: int) -> list[float]:
    rng, noise = random.Random(f"random:{seed}"), random.Random(f"noise:{seed}")
    trials = [(DEFAULTS, measure(DEFAULTS, noise))]
    for _ in range(EXPERIMENTS):
        config = {**DEFAULTS, **{n: sample(n, s, RandomSuggest(rng)) for n, s in BOX.items()}}
        trials.append((config, measure(config, noise)))
    return incumbent_curve(trials)


def tpe(seed: int) -> list[float]:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({n: (1 - DEFAULTS[n] if s[0] == "one_minus" else DEFAULTS[n])
                         for n, s in BOX.items()})
    noise, trials = random.Random(f"noise:{seed}"), []
    for _ in range(EXPERIMENTS + 1):
        trial = study.ask()
        config = {**DEFAULTS, **{n: sample(n, s, OptunaSuggest(trial)) for n, s in BOX.items()}}
        measured = measure(config, noise)
        trials.append((config, measured))
        if measured is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, measured)
    return incumbent_curve(trials)


def loop(seed: int, meta: bool, data: Path) -> list[float]:
    """The real experiment loop (with or without the meta tier) on the objective,
    with its defaults: 3 noise runs first, and a re-run to confirm each gain.
    Every training counts against the same budget as a trial of the others
    (the baseline's repeats and the confirming re-runs included)."""
    os.environ["DEEPLOOP_RUNS"] = tempfile.mkdtemp(prefix="search-bench-")
    run = init_run(f"seed{seed}", str(data))
    record: list = []
    settings = Settings(experiments=EXPERIMENTS, budget=1, warm_start=False, seed=seed,
                        meta_interval=12 if meta else 0)
    trainer = objective_trainer(surface, seed=seed, record=record)
    results = [e for e in run_with_meta(run, settings, proposer=OfflineProposer(seed=seed),
                                        trainer=trainer, scorer=objective_scorer)
               if e["type"] == "experiment_result" and e["status"] != "rejected"]
    curve, pick, used = [], None, 0
    for event in results:  # each result trained once, or twice when it was confirmed
        trainings = 2 if event.get("confirm") else 1
        config, used = record[used][0], used + trainings
        if event["status"] == "keep":  # what the loop itself keeps as the best
            pick = config
        curve += [surface(pick) if pick is not None else math.nan] * trainings
    assert used == len(record), "every training belongs to one result"
    curve = curve[:EXPERIMENTS + 1]
    return curve + [curve[-1]] * (EXPERIMENTS + 1 - len(curve))


def first_reach(curve: list[float], target: float) -> float:
    return next((n for n, value in enumerate(curve) if value <= target), math.inf)


def main() -> None:
    data = Path(tempfile.mkdtemp()) / "corpus.txt"
    data.write_text("def f(x):\n    return x + 1\n" * 4000, encoding="utf-8")
    default = surface(DEFAULTS)
    target = round(default * (1 - TARGET_SHARE), 4)
    methods = {"two-tier (offline + meta)": lambda s: loop(s, True, data),
               "offline proposer alone": lambda s: loop(s, False, data),
               "random search": random_search, "optuna TPE": tpe}
    print(f"synthetic objective: default config {default:.4f}, noise sd {NOISE}, "
          f"target {target:.4f} ({100 * TARGET_SHARE:.0f} % below the default); "
          f"{SEEDS} seeds x {EXPERIMENTS} trainings after the default")
    print(f"{'method':28s} " + " ".join(f"{'best@' + str(n):>9s}" for n in CHECKPOINTS)
          + f" {'to target':>10s} {'reached':>8s} {'seconds':>8s}")
    for name, method in methods.items():
        if ONLY and not any(part.strip() in name for part in ONLY.split(",")):
            continue
        started = time.perf_counter()
        curves = [method(seed) for seed in range(SEEDS)]
        reach = [first_reach(c, target) for c in curves]
        medians = [statistics.median(c[n] for c in curves) for n in CHECKPOINTS]
        to_target = statistics.median(reach)
        print(f"{name:28s} " + " ".join(f"{m:9.4f}" for m in medians)
              + f" {to_target if math.isfinite(to_target) else '>48':>10} "
              f"{sum(math.isfinite(r) for r in reach):>5d}/{SEEDS} "
              f"{time.perf_counter() - started:8.1f}")


if __name__ == "__main__":
    main()
