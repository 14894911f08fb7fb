"""Does one default-budget training run beat general-purpose compressors?

Trains the shipped train.py once (default budget: 60 s on CPU) on the
embedded corpus and compares its val_bpb with the conditional bits per byte
of `xz -9`, `bzip2 -9` and `zstd -19` on exactly the bytes evaluate_bpb
scores: size(train + those bytes) - size(train), in bits, per byte. Goal:
the model beats the best compressor; the ratio is model / best compressor.

    python bench/vs_compressors.py [--budget SECONDS]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from deeploop.experiment.corpus import eval_targets, load_default, prepare
from deeploop.experiment.decide import crash_reason
from deeploop.experiment.evaluate import time_budget
from deeploop.experiment.rundir import template_files
from deeploop.experiment.runner import run_training

COMPRESSORS = {"xz -9": ["xz", "-9", "-c"], "bzip2 -9": ["bzip2", "-9", "-c"],
               "zstd -19": ["zstd", "-19", "-c", "-q"]}


def compressed_size(argv: list[str], data: bytes) -> int:
    return len(subprocess.run(argv, input=data, capture_output=True, check=True).stdout)


def conditional_bpb(argv: list[str], train: bytes, target: bytes) -> float:
    return 8 * (compressed_size(argv, train + target) - compressed_size(argv, train)) / len(target)


def train_once(budget: float, folder: Path) -> dict:
    corpus = load_default()
    prepare(corpus, folder / "data")
    workspace = folder / "workspace"
    workspace.mkdir()
    (workspace / "train.py").write_text(template_files()["train.py"])
    result = run_training(workspace, folder / "train.log", budget, folder / "data")
    problem = crash_reason(result)
    if problem:
        print("\n".join(result.log_tail), file=sys.stderr)
        raise SystemExit(f"training crashed: {problem}")
    return result.summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=None,
                        help="training seconds (default: the template's default budget)")
    args = parser.parse_args()
    budget = args.budget or time_budget()
    corpus = load_default()
    target = eval_targets(corpus.val, corpus.eval_bytes)
    rows = {}
    for name, argv in COMPRESSORS.items():
        if shutil.which(argv[0]) is None:
            print(f"{name:10s} not installed, skipped")
            continue
        rows[name] = conditional_bpb(argv, corpus.train, target)
    with tempfile.TemporaryDirectory(prefix="deeploop-vs-") as tmp:
        summary = train_once(budget, Path(tmp))
    model = summary["val_bpb"]
    print(f"corpus: {corpus.name} ({len(corpus.train):,} train bytes, "
          f"{len(target):,} scored validation bytes)")
    for name, bpb in sorted(rows.items(), key=lambda kv: kv[1]):
        print(f"{name:10s} {bpb:.4f} bpb (conditional on the training bytes)")
    print(f"{'model':10s} {model:.4f} bpb after {summary['training_seconds']:.1f} s of training "
          f"({summary['num_steps']:.0f} steps, {summary['total_tokens_M']:.2f}M tokens, "
          f"{summary['num_params_M']:.2f}M params)")
    if rows:
        best_name, best = min(rows.items(), key=lambda kv: kv[1])
        ratio = model / best
        print(f"ratio model / best compressor ({best_name}): {ratio:.3f} "
              f"({'model wins' if ratio < 1 else 'compressor wins'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
