"""Does a default-budget training run beat the best classical compressors?

Trains the shipped train.py (default budget: 60 s on CPU; `--runs 3` for a
median) on the embedded corpus and compares its val_bpb with the conditional
bits per byte of LZ and BWT compressors (`xz -9`, `bzip2 -9`, `zstd -19`),
PPMd (`7z`, order 32 with 256 MB, from p7zip-full) and the context-mixing
`zpaq -m5`, on exactly the bytes evaluate_bpb scores: size(train + those
bytes) - size(train), in bits, per byte. The ratio is model / best
compressor; below 1 the model wins. `--no-train` prints the compressors only;
`--no-compressors` trains only (on a shared machine zpaq alone takes a minute of CPU);
`--set NAME=VALUE` trains the template with a knob changed (an A/B by hand, e.g.
`--set WINDOW_MAX_ORDER=2` turns the window counts off).

    python bench/vs_compressors.py [--budget SECONDS] [--runs N] [--no-train | --no-compressors]
                                   [--set NAME=VALUE ...]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deeploop.errors import InputError
from deeploop.experiment.corpus import eval_targets, load_default, prepare
from deeploop.experiment.decide import crash_reason
from deeploop.experiment.evaluate import time_budget
from deeploop.experiment.knobs import parse_value, set_knobs
from deeploop.experiment.rundir import template_files
from deeploop.experiment.trainer import run_training, trainer_env
from deeploop.experiment.sandbox import Sandbox
from deeploop.experiment.score import score_model

# Streaming compressors read stdin and write stdout; archivers get a file
# "data" in a scratch folder and write "out.<ext>" (their own headers and the
# file name cancel out in the conditional difference).
COMPRESSORS = {"xz -9": ["xz", "-9", "-c"], "bzip2 -9": ["bzip2", "-9", "-c"],
               "zstd -19": ["zstd", "-19", "-c", "-q"],
               "7z PPMd o32": ["7z", "a", "-t7z", "-m0=PPMd:o=32:mem=256m", "-bd", "-y",
                               "out.7z", "data"],
               "zpaq -m5": ["zpaq", "a", "out.zpaq", "data", "-m5"]}


def compressed_size(argv: list[str], data: bytes) -> int:
    """Bytes of ``data`` compressed by ``argv``."""
    archive = next((a for a in argv if a.startswith("out.")), None)
    if archive is None:
        return len(subprocess.run(argv, input=data, capture_output=True, check=True).stdout)
    with tempfile.TemporaryDirectory(prefix="deeploop-cmp-") as tmp:
        (Path(tmp) / "data").write_bytes(data)
        subprocess.run(argv, cwd=tmp, capture_output=True, check=True)
        return os.path.getsize(Path(tmp) / archive)


def conditional_bpb(argv: list[str], train: bytes, target: bytes) -> float:
    return 8 * (compressed_size(argv, train + target) - compressed_size(argv, train)) / len(target)


def train_once(budget: float, folder: Path, knobs: dict | None = None) -> dict:
    corpus = load_default()
    prepare(corpus, folder / "data")
    workspace = folder / "workspace"
    workspace.mkdir()
    (workspace / "train.py").write_text(set_knobs(template_files()["train.py"], knobs or {}))
    sandbox = Sandbox.from_mode("auto")  # as in a run: the trainer cannot see val.bin
    env = sandbox.env()
    data = folder / "data"
    result = run_training(workspace, folder / "train.log", budget, data, sandbox=sandbox,
                          extra_env=env)
    problem = crash_reason(result)
    if problem:
        print("\n".join(result.log_tail), file=sys.stderr)
        raise SystemExit(f"training crashed: {problem}")
    score = score_model(workspace, data, log_path=folder / "score.log", sandbox=sandbox,
                        env=trainer_env(budget, data, env))
    if score.val_bpb is None:
        raise SystemExit(f"scoring failed: {score.reason}")
    return {**result.summary, "val_bpb": score.val_bpb}  # the harness's score, as the loop's


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=None,
                        help="training seconds (default: the template's default budget)")
    parser.add_argument("--runs", type=int, default=1,
                        help="training runs; the median val_bpb is compared (default 1)")
    parser.add_argument("--no-train", action="store_true", help="print the compressors only")
    parser.add_argument("--no-compressors", action="store_true",
                        help="train and score the model only (no ratio printed)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="train the template with this knob changed (repeatable)")
    args = parser.parse_args()
    knobs = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            parser.error(f"--set wants NAME=VALUE, got {item!r}")
        knobs[name.strip()] = parse_value(value.strip())
    try:
        set_knobs(template_files()["train.py"], knobs)
    except InputError as exc:
        parser.error(str(exc))
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.no_train and args.no_compressors:
        parser.error("--no-train and --no-compressors leave nothing to do")
    budget = args.budget or time_budget()
    corpus = load_default()
    target = eval_targets(corpus.val, corpus.eval_bytes)
    print(f"corpus: {corpus.name} ({len(corpus.train):,} train bytes, "
          f"{len(target):,} scored validation bytes)", flush=True)
    if knobs:
        print("template with " + ", ".join(f"{k} = {v!r}" for k, v in knobs.items()))
    rows = {}
    for name, argv in ({} if args.no_compressors else COMPRESSORS).items():
        if shutil.which(argv[0]) is None:
            print(f"{name:12s} not installed, skipped (Debian: make debs)")
            continue
        started = time.perf_counter()
        rows[name] = conditional_bpb(argv, corpus.train, target)
        print(f"{name:12s} {rows[name]:.4f} bpb (conditional on the training bytes; "
              f"{time.perf_counter() - started:.0f} s)", flush=True)
    if args.no_train:
        return 0
    scores = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="deeploop-vs-") as tmp:
            summary = train_once(budget, Path(tmp), knobs)
        scores.append(summary["val_bpb"])
        print(f"{'model':12s} {summary['val_bpb']:.4f} bpb (run {run + 1}/{args.runs}) after "
              f"{summary.get('training_seconds', float('nan')):.1f} s of training "
              f"({summary.get('num_steps', float('nan')):.0f} steps, "
              f"{summary.get('total_tokens_M', float('nan')):.2f}M tokens; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)
    model = statistics.median(scores)
    if args.runs > 1:
        print(f"{'model':12s} {model:.4f} bpb, median of {args.runs} "
              f"({', '.join(f'{s:.4f}' for s in scores)})")
    if rows:
        best_name, best = min(rows.items(), key=lambda kv: kv[1])
        ratio = model / best
        print(f"ratio model / best compressor ({best_name}): {ratio:.3f} "
              f"({'model wins' if ratio < 1 else 'compressor wins'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
