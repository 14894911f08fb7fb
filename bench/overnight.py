"""The offline loop left alone for H hours: how far does it get towards zpaq?

Runs the two-tier experiment loop with no model and no key (the offline
proposer plus the offline meta tier, the noise floor measured first) from the
default template for ``--hours`` hours of wall clock, and prints the best
val_bpb over time beside `zpaq -m5`'s conditional bits per byte on the same
scored bytes (see bench/vs_compressors.py), with the change and hypothesis
behind every new best. When knob moves stall (``--stall`` experiments without a
keep) the proposer tries a structural edit of train.py's code from its library
(deeploop/experiment/proposers/structural.py); those lines read ``EDIT <name>``.
The run folder is kept (``--root``) so its report and results.tsv can be read
afterwards.

    python bench/overnight.py --hours 8 [--budget 60] [--noise-runs 3] [--stall 4] [--root DIR]

Figures depend on the machine's load: a busy machine gives fewer steps per
budget, so the log prints each experiment's step count.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from deeploop.experiment.corpus import eval_targets, load_default  # noqa: E402
from deeploop.experiment.proposers.offline import STALL, OfflineProposer  # noqa: E402
from deeploop.meta.opening import open_experiment  # noqa: E402
from deeploop.meta.analysts import get_analyst  # noqa: E402
from deeploop.meta.tier import run_with_meta  # noqa: E402

ZPAQ = "zpaq -m5"
ZPAQ_ISSUE_BPB = 1.4406  # measured with bench/vs_compressors.py; printed only if zpaq is missing


def zpaq_bpb() -> tuple[float, str]:
    """zpaq -m5's conditional bpb on the scored bytes, measured now when zpaq is installed."""
    from vs_compressors import COMPRESSORS, conditional_bpb
    if shutil.which("zpaq") is None:
        return ZPAQ_ISSUE_BPB, "zpaq not installed: the figure bench/vs_compressors.py printed"
    corpus = load_default()
    target = eval_targets(corpus.val, corpus.eval_bytes)
    return conditional_bpb(COMPRESSORS[ZPAQ], corpus.train, target), "measured now"


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def trajectory(events: list[dict]) -> list[dict]:
    """Each new best among the results: when, what, which hypothesis."""
    best, moves = None, []
    for event in events:
        bpb = event.get("val_bpb")
        if event.get("type") != "experiment_result" or event.get("status") != "keep" or bpb is None:
            continue
        if best is None or bpb < best:
            best = bpb
            hypothesis = event.get("hypothesis") or {}
            moves.append({"t": event["t"], "round": event.get("round"), "val_bpb": bpb,
                          "description": event.get("description", ""),
                          "hypothesis": " ".join(str(hypothesis[k]) for k in ("id", "reason")
                                                 if hypothesis.get(k)),
                          "steps": (event.get("metrics") or {}).get("num_steps")})
    return moves


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, required=True, help="wall-clock hours to run")
    parser.add_argument("--budget", type=float, default=None,
                        help="training seconds per experiment (default: the template's, 60 on CPU)")
    parser.add_argument("--noise-runs", type=int, default=3,
                        help="baseline repeats that measure the noise floor first (default 3)")
    parser.add_argument("--root", type=Path, default=None,
                        help="runs root to keep the run in (default: a temporary folder, removed)")
    parser.add_argument("--tag", default=None, help="experiment tag (default overnight-<time>)")
    parser.add_argument("--seed", type=int, default=0, help="offline proposer's seed")
    parser.add_argument("--stall", type=int, default=STALL,
                        help=f"experiments without a keep before a structural edit "
                             f"(default {STALL})")
    args = parser.parse_args()
    if args.hours <= 0:
        parser.error("--hours must be positive")
    if args.stall < 1:
        parser.error("--stall must be at least 1")
    if args.noise_runs < 2:
        parser.error("--noise-runs must be at least 2 (the noise floor needs two runs)")
    zpaq, how = zpaq_bpb()
    print(f"{ZPAQ}: {zpaq:.4f} bpb ({how})", flush=True)
    keep = args.root is not None
    root = args.root or Path(tempfile.mkdtemp(prefix="deeploop-overnight-"))
    tag = args.tag or time.strftime("overnight-%Y%m%d-%H%M%S")
    run, settings = open_experiment(
        tag, root=root, resume=False, hours=args.hours, experiments=100_000,
        budget=args.budget, noise_runs=args.noise_runs, seed=args.seed,
        proposer="offline", analyst="offline")
    print(f"run folder: {run.path}" + ("" if keep else " (removed at the end; --root keeps it)"))
    started, events, best = time.monotonic(), [], None
    try:
        proposer = OfflineProposer(seed=args.seed, stall=args.stall)
        for event in run_with_meta(run, settings, proposer=proposer,
                                   analyst=get_analyst("offline")):
            event = {**event, "t": time.monotonic() - started}
            events.append(event)
            kind = event.get("type")
            if kind == "noise_estimated":
                sigma = event.get("sigma")
                print(f"{clock(event['t'])}  noise floor: sigma "
                      f"{'n/a' if sigma is None else f'{sigma:.4f}'} bpb, keep margin "
                      f"{event.get('min_delta', 0):.4f}", flush=True)
            elif kind == "meta_analysis":
                print(f"{clock(event['t'])}  meta-analysis at round {event.get('round')}",
                      flush=True)
            elif kind == "experiment_result":
                bpb, metrics = event.get("val_bpb"), event.get("metrics") or {}
                if bpb is not None and event.get("status") == "keep":
                    best = bpb if best is None else min(best, bpb)
                steps = metrics.get("num_steps")
                print(f"{clock(event['t'])}  #{event.get('round'):<3} {event.get('status'):8s} "
                      f"{'' if bpb is None else f'{bpb:.4f}':8s} best "
                      f"{'' if best is None else f'{best:.4f}':8s} (zpaq {zpaq:.4f}) "
                      f"{'' if steps is None else f'{steps:.0f} steps '}"
                      f"{event.get('description', '')[:80]}"
                      + "".join(f"  [flag: {w}]" for w in event.get("warnings") or []),
                      flush=True)
    finally:
        moves = trajectory(events)
        print("\nbest val_bpb over time (each new best, with the change that made it):")
        for move in moves:
            gap = move["val_bpb"] - zpaq
            print(f"  {clock(move['t'])}  {move['val_bpb']:.4f}  ({gap:+.4f} vs {ZPAQ})  "
                  f"#{move['round']} {move['description']}"
                  + (f" - {move['hypothesis']}" if move["hypothesis"] else ""))
        if moves:
            verdict = "below" if moves[-1]["val_bpb"] < zpaq else "above"
            print(f"final best {moves[-1]['val_bpb']:.4f}: {verdict} {ZPAQ} ({zpaq:.4f}) after "
                  f"{clock(time.monotonic() - started)}")
        else:
            results = [e for e in events if e.get("type") == "experiment_result"]
            why = results[-1].get("reason") if results else "no experiment finished"
            print(f"no scored result after {clock(time.monotonic() - started)}: {why}")
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
