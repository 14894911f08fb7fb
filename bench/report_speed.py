"""Report generation at scale: a 500-experiment results.tsv and a 2,000-node drill.

Each report is ``build_report`` end to end, kernel start-up included, run in
a fresh process so its figures are its own. Prints wall time (goal: <= 15 s
each), the size of report.html, and peak memory of the building process and
of the kernel that executed the template (goal: <= 1 GB). Figures only, no
asserts. ``--case results|drill`` runs one case and prints JSON.
"""
from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KNOBS = [("MATRIX_LR", 0.04), ("EMBED_LR", 0.6), ("DEPTH", 4), ("WIDTH", 128),
         ("WARMUP", 0.05), ("WEIGHT_DECAY", 0.1), ("BATCH", 32), ("SEQ_LEN", 256)]


def write_results(path: Path, experiments: int = 500, seed: int = 0) -> None:
    """A plausible autoresearch history: slow gains, many discards, a few crashes."""
    rng = random.Random(seed)
    best = 1.80
    lines = ["commit\tval_bpb\tmemory_gb\tstatus\tdescription",
             f"{rng.getrandbits(28):07x}\t{best:.6f}\t20.5\tkeep\tbaseline"]
    for n in range(1, experiments + 1):
        name, value = KNOBS[n % len(KNOBS)]
        desc = f"{name} {value} -> {value * rng.choice([0.5, 0.75, 1.5, 2]):g}"
        roll = rng.random()
        if roll < 0.04:
            lines.append(f"{rng.getrandbits(28):07x}\t0.000000\t0.0\tcrash\t{desc}")
            continue
        val = best + rng.gauss(0.004, 0.01)
        status = "keep" if val < best else "discard"
        best = min(best, val)
        lines.append(f"{rng.getrandbits(28):07x}\t{val:.6f}\t20.5\t{status}\t{desc}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_drill(root: Path, nodes: int = 2000, seed: int = 0) -> Path:
    """A real drill run (session files, events every round) grown to ``nodes`` claims."""
    from deeploop.drill import Drill
    from deeploop.drill.tree import BEDROCK_CATEGORIES
    rng = random.Random(seed)
    session = Drill.start("Why does our checkout funnel keep regressing?",
                                 root=root, hard_cap=10 * nodes)
    step, size = 0, 1
    while size < nodes:
        depth = len(session.tree.cursor)
        roll = rng.random()
        if depth and (depth >= 9 or roll < 0.15) and session.tree.root.open_leaves > 3:
            text = f"BEDROCK:{BEDROCK_CATEGORIES[step % 6]} — rationale {step}"
        elif depth and (roll < 0.45 or depth >= 9):
            text = f"BRANCH:parallel cause {step}, pushing the same way"
        else:
            text = f"deeper claim {step}: what sits underneath the last one"
        session.ask()
        session.answer(text)
        size, step = size + 1, step + 1
    session.close()
    return session.run_dir


def run_case(case: str) -> dict:
    from deeploop.notebook.report import build_report
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        made = time.perf_counter()
        if case == "results":
            subject = tmp / "results.tsv"
            write_results(subject)
        else:
            subject = write_drill(tmp / "runs")
        setup_s = time.perf_counter() - made
        started = time.perf_counter()
        report = build_report(subject, tmp / "out")
        seconds = time.perf_counter() - started
        return {"case": case, "seconds": seconds, "setup_s": setup_s,
                "html_mb": report.html.stat().st_size / 1e6,
                "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "kernel_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(json.dumps(run_case(sys.argv[2])))
        return
    env = {**os.environ, "MPLBACKEND": "Agg"}
    what = {"results": "500-experiment results.tsv", "drill": "2,000-node drill"}
    for case, label in what.items():
        done = subprocess.run([sys.executable, __file__, "--case", case], env=env,
                              capture_output=True, text=True)
        if done.returncode:
            print(f"{label}: failed\n{done.stderr[-2000:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{label}: report in {r['seconds']:.1f} s, kernel start-up included "
              f"(goal: <= 15 s); report.html {r['html_mb']:.2f} MB; peak memory: builder "
              f"{r['self_mb']:.0f} MB, kernel {r['kernel_mb']:.0f} MB (goal: <= 1 GB); "
              f"input made in {r['setup_s']:.1f} s")


if __name__ == "__main__":
    main()
