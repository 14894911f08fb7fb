"""A cheap stand-in for training: a synthetic val_bpb over train.py's knobs.

Not part of the package: imported as ``bench.support.synthetic`` (the
repository root on ``sys.path``). For benchmarks of the search
(``bench/search_efficiency.py``) and for tests of the two tiers, where a real training minute per experiment would be too
slow. ``surface`` is a response surface over the same hyperparameters as the
template's train.py, shaped like what a fixed-budget run shows:

- a fixed compute budget: a bigger model (depth, width, MLP ratio) learns
  more per token but sees fewer tokens; batch and context trade steps
  against gradient quality;
- learning rates whose optimum moves with batch, width, depth and momentum
  (interactions), and that diverge (crash) far above it, sooner without
  gradient clipping;
- hashed n-grams that help up to an order, with diminishing buckets;
- schedule and optimiser constants with small, smooth effects;
- crash regions: heads that do not split the width evenly, memory blow-ups.

``objective_trainer`` (with ``objective_scorer``) wraps a surface into the
loop's trainer and scorer interfaces: it
reads the knobs from the workspace's train.py, adds seeded noise and returns
the summary the loop expects, so the real proposers, loop and meta tier run
unchanged with the objective in place of training.
"""
from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Callable

from deeploop.experiment.evaluate import MODEL_FILE
from deeploop.experiment.knobs import Value, read_knobs
from deeploop.experiment.rundir import template_files
from deeploop.experiment.trainer import TrainResult
from deeploop.experiment.score import Score
from deeploop.experiment.workspace import TRAIN_FILE

BASE = 2.1               # val_bpb with every term at its best
NOISE = 0.003            # run-to-run spread of val_bpb (about 0.15 %)
MEMORY_CAP = 6e7         # activations beyond this are an out-of-memory crash
BEST_PARAMS = 7e5        # the model size the budget favours (the template has 3.9e5)
NGRAM_GAIN = {1: 0.0, 2: 0.05, 3: 0.085, 4: 0.1, 5: 0.095, 6: 0.085, 7: 0.075, 8: 0.065}


def _sq(x: float) -> float:
    return x * x


def _lr_terms(k: dict) -> float | None:
    """Penalties of the learning rates; None when training diverges."""
    depth, width, batch = k["DEPTH"], k["WIDTH"], k["BATCH_SIZE"]
    # the best Muon rate grows with the batch, shrinks with width and depth,
    # and what matters with momentum is the effective step lr / (1 - momentum)
    best = 0.045 * math.sqrt(batch / 32) * math.sqrt(128 / width) * math.sqrt(2 / depth)
    effective = k["MATRIX_LR"] / (1 - k["MOMENTUM"]) * 0.05
    off = math.log2(effective / best)
    limit = 2.0 if k["GRAD_CLIP"] > 0 else 1.3
    if off > limit or k["EMBED_LR"] > 0.4 or k["NGRAM_LR"] > 0.8:
        return None
    return (0.035 * _sq(off) + 0.012 * _sq(math.log2(k["EMBED_LR"] / 0.04))
            + 0.01 * _sq(math.log2(k["NGRAM_LR"] / 0.06))
            + 0.015 * _sq(math.log2((1 - k["MOMENTUM"]) / 0.07)))


def _size_terms(k: dict) -> float | None:
    """Fixed compute: model size and shape, tokens per step, context; None when
    the activations would not fit in memory."""
    depth, width, mlp, seq, batch = (k["DEPTH"], k["WIDTH"], k["MLP_RATIO"], k["SEQ_LEN"],
                                     k["BATCH_SIZE"])
    if batch * seq * width * depth * (4 + mlp) > MEMORY_CAP:
        return None
    params = depth * width * width * (4 + 2 * mlp)
    size = 0.05 * _sq(math.log2(params / BEST_PARAMS))      # too small learns little, too
    aspect = 0.02 * _sq(math.log2(width / depth / 48))       # big sees too few tokens
    per_step = 0.03 * _sq(math.log2(batch * seq / 2048))     # steps against gradient quality
    context = -0.06 * min(math.log2(seq / 32), 4) / 4 + 0.03 * (seq / 512) * (depth / 2)
    heads = 0.012 * _sq(math.log2(width / k["HEADS"] / 40))
    mlp_shape = 0.01 * _sq(mlp - 3)
    return size + aspect + per_step + context + heads + mlp_shape


def _small_terms(k: dict) -> float:
    order = max(1, min(8, int(k["NGRAM_ORDER"])))
    buckets = 0.04 * min(1.0, math.log2(k["NGRAM_BUCKETS"] / 1024) / 8)
    schedule = (0.12 * _sq(k["WARMDOWN_FRAC"] - 0.6) + 0.6 * _sq(k["WARMUP_FRAC"] - 0.02)
                + 0.06 * _sq(k["FINAL_LR_FRAC"] - 0.1))
    betas = (0.006 * _sq(math.log2((1 - k["BETA2"]) / 0.02))
             + 0.004 * _sq(math.log2((1 - k["BETA1"]) / 0.12)))
    clip = 0.004 if k["GRAD_CLIP"] <= 0 else 0.003 * _sq(math.log2(k["GRAD_CLIP"] / 0.5))
    return -NGRAM_GAIN[order] * (0.5 + buckets / 0.08) + schedule + betas + clip


def surface(knobs: dict[str, Value]) -> float | None:
    """The noiseless val_bpb of a configuration; None for a crash."""
    k = {name: float(v) if isinstance(v, (int, float)) else v for name, v in knobs.items()}
    if k["WIDTH"] % k["HEADS"] or (k["WIDTH"] / k["HEADS"]) % 2 or \
            k["WARMUP_FRAC"] + k["WARMDOWN_FRAC"] > 1:
        return None  # the template refuses these shapes
    lr, size = _lr_terms(k), _size_terms(k)
    if lr is None or size is None:
        return None
    return round(BASE + lr + size + _small_terms(k), 6)


def template_knobs() -> dict[str, Value]:
    return {n: k.value for n, k in read_knobs(template_files()[TRAIN_FILE]).items()}


def objective_trainer(objective: Callable[[dict], float | None] = surface, *, seed: int = 0,
                      noise: float = NOISE, record: list | None = None):
    """A loop trainer that evaluates ``objective`` on the workspace's knobs.
    Noise is seeded by (seed, call number) so runs repeat exactly; ``record``
    collects (knobs, measured) per call."""
    calls = [0]

    def train(workspace, log_path, budget, data_dir, **_) -> TrainResult:
        knobs = {n: k.value for n, k in read_knobs(
            (Path(workspace) / "train.py").read_text(encoding="utf-8")).items()}
        rng = random.Random(f"{seed}:{calls[0]}")
        calls[0] += 1
        true = objective(knobs)
        measured = None if true is None else round(true + rng.gauss(0, noise), 6)
        if record is not None:
            record.append((knobs, measured))
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        if measured is None:
            Path(log_path).write_text("FAIL: diverged (synthetic objective)\n", encoding="utf-8")
            return TrainResult(1, 0.0, {}, None, "FAIL: diverged (synthetic objective)",
                               ["FAIL: diverged (synthetic objective)"])
        summary = {"training_seconds": 0.0, "peak_vram_mb": 0.0}
        Path(log_path).write_text("---\n" + "".join(f"{k}: {v}\n" for k, v in summary.items()),
                                  encoding="utf-8")
        (Path(workspace) / MODEL_FILE).write_text(json.dumps({"objective": measured}),
                                                 encoding="utf-8")
        return TrainResult(0, 0.0, summary)

    return train


def objective_scorer(workspace, data_dir, **_) -> Score:
    """The scorer that goes with ``objective_trainer``: the measured value it
    saved in place of a model (a surrogate; real runs use score.score_model)."""
    path = Path(workspace) / MODEL_FILE
    if not path.is_file():
        return Score(None, f"no model saved: train.py wrote no {MODEL_FILE}")
    return Score(json.loads(path.read_text(encoding="utf-8"))["objective"], None, 0.0,
                 {"surrogate": True})
