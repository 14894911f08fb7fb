"""Throughput of the default train.py model on this machine.

Prints tokens per second and model FLOP/s of the template's default
configuration, against a plain float32 torch matmul peak measured in the
same process with the same threads. Goal: MFU >= 25 % of that peak.

    python bench/train_throughput.py [--seconds 15]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
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
    data = torch.randint(0, 256, (2_000_000,), dtype=torch.uint8)
    if hasattr(t, "fit_counts"):  # count tables: their lookups are part of every step
        t.fit_counts(model, data)
    generator = torch.Generator().manual_seed(0)

    def step():
        x, y = t.fixed.get_batch(data, t.BATCH_SIZE, t.SEQ_LEN, generator)
        t.train_step(model, optimizers, x, y, autocast, 0.5)

    for _ in range(3):
        step()
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        step()
        steps += 1
    rate = steps * t.BATCH_SIZE * t.SEQ_LEN / (time.perf_counter() - started)
    return rate, t.flops_per_token(model)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="timed training seconds")
    args = parser.parse_args()
    os.environ.setdefault("DEEPLOOP_DATA_DIR", tempfile.mkdtemp(prefix="deeploop-bench-"))
    t = load_template()
    torch = t.torch
    t.setup()
    peak, size = matmul_peak(torch, 1.0)
    rate, per_token = train_rate(t, args.seconds)
    achieved = rate * per_token
    mfu = 100 * achieved / peak
    params = sum(p.numel() for p in t.GPT("cpu").parameters())
    print(f"threads:            {torch.get_num_threads()}  (cpu count {os.cpu_count()})")
    print(f"model:              depth {t.DEPTH}, width {t.WIDTH}, seq {t.SEQ_LEN}, "
          f"batch {t.BATCH_SIZE}, {params / 1e6:.2f}M params")
    print(f"matmul peak:        {peak / 1e9:.1f} GFLOP/s (float32 {size}x{size})")
    print(f"training:           {rate:,.0f} tokens/s, {per_token / 1e6:.2f} MFLOP/token, "
          f"{achieved / 1e9:.1f} GFLOP/s")
    print(f"tokens per minute:  {60 * rate / 1e6:.2f}M")
    print(f"MFU:                {mfu:.1f}% of the measured peak (goal >= {GOAL_MFU:.0f}%: "
          f"{'met' if mfu >= GOAL_MFU else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
