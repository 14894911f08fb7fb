"""Throughput of the default train.py model on this machine.

Prints tokens per second and model FLOP/s of the template's default
configuration on the embedded corpus, against a plain float32 torch matmul
peak measured in the same process with the same threads. The FLOPs are
train.py's own ``flops_per_token``: the matmuls and attention, plus the
count-table work of every step (hashing, lookups, blending; the tables
themselves are prepared once per corpus, outside the budget, and that
preparation is timed and printed apart). Goal: MFU >= 25 % of that peak.

    python bench/train_throughput.py [--seconds 15]
"""
from __future__ import annotations

import argparse
import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

GOAL_MFU = 25.0


def load_template():
    """The shipped train.py as a module (its main() is not run)."""
    path = Path(__file__).resolve().parents[1] / "deeploop" / "experiment" / "template" / "train.py"
    spec = importlib.util.spec_from_file_location("template_train", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def matmul_peak(torch, seconds: float) -> tuple[float, int]:
    """Best float32 matmul FLOP/s over a few square sizes."""
    best = (0.0, 0)
    for size in (512, 1024, 2048, 3072):
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            a @ b
            count += 1
        flops = 2 * size ** 3 * count / (time.perf_counter() - started)
        best = max(best, (flops, size))
    return best


def train_rate(t, seconds: float) -> tuple[float, int]:
    """Steady-state tokens/s of the template's own training step on random bytes."""
    torch = t.torch
    device, autocast = t.setup()
    model = t.GPT(device)
    optimizers = t.make_optimizers(model)
    data = t.fixed.load_split("train")
    started = time.perf_counter()
    t.load_counts(model, device)  # built once per corpus (outside the budget), then cached
    print(f"count tables:       {time.perf_counter() - started:.1f} s to prepare and load "
          f"(once per corpus; not in the training budget)", flush=True)
    folds = t.counts.halves(data)
    generator = torch.Generator().manual_seed(0)
    step_number = [0]

    def step():
        k = step_number[0] % 2
        model.use = f"half{1 - k}"
        x, y = t.fixed.get_batch(folds[k], t.BATCH_SIZE, t.SEQ_LEN, generator)
        t.train_step(model, optimizers, x, y, autocast, 0.5)
        step_number[0] += 1

    for _ in range(3):
        step()
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        step()
        steps += 1
    rate = steps * t.BATCH_SIZE * t.SEQ_LEN / (time.perf_counter() - started)
    return rate, t.flops_per_token(model), steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="timed training seconds")
    args = parser.parse_args()
    if not os.environ.get("DEEPLOOP_DATA_DIR"):  # the embedded corpus, prepared in a temp folder
        from deeploop.experiment.corpus import load_default, prepare
        folder = tempfile.mkdtemp(prefix="deeploop-bench-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        prepare(load_default(), folder)
        os.environ["DEEPLOOP_DATA_DIR"] = folder
    t = load_template()
    torch = t.torch
    t.setup()
    peak, size = matmul_peak(torch, 1.0)
    rate, per_token, steps = train_rate(t, args.seconds)
    achieved = rate * per_token
    mfu = 100 * achieved / peak
    counted = t.count_flops_per_token() if hasattr(t, "count_flops_per_token") else 0
    params = sum(p.numel() for p in t.GPT("cpu").parameters())
    print(f"threads:            {torch.get_num_threads()}  (cpu count {os.cpu_count()})")
    print(f"model:              depth {t.DEPTH}, width {t.WIDTH}, seq {t.SEQ_LEN}, "
          f"batch {t.BATCH_SIZE}, {params / 1e6:.2f}M params")
    print(f"matmul peak:        {peak / 1e9:.1f} GFLOP/s (float32 {size}x{size})")
    print(f"training:           {rate:,.0f} tokens/s over {steps} steps, "
          f"{per_token / 1e6:.2f} MFLOP/token ({counted / 1e6:.2f} of them count-table work), "
          f"{achieved / 1e9:.1f} GFLOP/s")
    print(f"tokens per minute:  {60 * rate / 1e6:.2f}M")
    print(f"MFU:                {mfu:.1f}% of the measured peak (goal >= {GOAL_MFU:.0f}%: "
          f"{'met' if mfu >= GOAL_MFU else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
