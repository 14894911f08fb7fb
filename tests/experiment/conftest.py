"""Fixtures for the experiment loop: a small corpus, run folders in a temp
runs root, and a fake trainer that needs no torch.

The fake train.py has a hyperparameter block like the real template, keeps
the train.py contract (it saves a model the harness scores) and prints the
summary block without val_bpb, as train.py does under the harness. Its model
mixes the training bytes' unigram into a uniform guess by a weight that is a
smooth function of its knobs (best near LR 0.006, DEPTH 6), so the offline
search has something to find; ``fake_bpb`` computes the score the harness
must record, independently. MODE switches it into the failure paths the
harness must survive.
"""
from __future__ import annotations

import textwrap

import pytest

FAKE_TRAIN = textwrap.dedent('''\
    """Fake trainer for tests: no torch, instant, deterministic; keeps the
    train.py contract (saves a model, load_model/logprobs/SEQ_LEN)."""
    import json
    import math
    import os
    import sys
    import time

    # --- hyperparameters --------------------------------------------------
    LR = 0.003
    DEPTH = 4
    WIDTH = 128
    MODE = "ok"
    SLEEP = 0.0
    # --- end hyperparameters -----------------------------------------------
    SEQ_LEN = 512
    MODEL_FILE = "model.pt"


    def skill():
        """How much of the unigram the model mixes in: best near LR 0.006, DEPTH 6."""
        miss = (math.log10(LR) - math.log10(0.006)) ** 2 + 0.01 * (DEPTH - 6) ** 2
        return 0.99 * math.exp(-3 * miss) - 0.0001 * WIDTH / 128


    def load_model(path):
        with open(path) as fh:
            return json.load(fh)


    def logprobs(model, x):
        w = model["w"]
        row = [math.log((1 - w) / 256 + w * u) for u in model["unigram"]]
        return [[row] * len(window) for window in x]


    def main():
        time.sleep(SLEEP)
        if os.path.exists(os.path.join("..", "slow")):  # a test wants to kill us mid-run
            time.sleep(600)  # until killed: the test checks who kills it
        if MODE == "garbage":
            print("loss went somewhere\\n---\\nval_bpb: banana\\n%%%%")
            return
        if MODE == "silent":
            return
        if MODE == "fail":
            print("FAIL: loss nan at step 3")
            sys.exit(1)
        if MODE == "error":
            raise RuntimeError("shape mismatch")
        if MODE == "hang":
            while True:
                time.sleep(0.05)
        if MODE == "alloc":
            hog = []
            while True:
                hog.append(bytearray(50 * 2 ** 20))
                time.sleep(0.01)
        if MODE == "env":
            print("KEYS " + " ".join(sorted(k for k in os.environ if "KEY" in k or "TOKEN" in k)))
        data = open(os.path.join(os.environ["DEEPLOOP_DATA_DIR"], "train.bin"), "rb").read()
        counts = [1] * 256
        for b in data:
            counts[b] += 1
        unigram = [c / sum(counts) for c in counts]
        with open(MODEL_FILE + ".tmp", "w") as fh:
            json.dump({"w": skill(), "unigram": unigram}, fh)
        os.replace(MODEL_FILE + ".tmp", MODEL_FILE)
        budget = float(os.environ.get("DEEPLOOP_TIME_BUDGET", "60"))
        print("---")
        print(f"training_seconds: {min(budget, 0.1):.1f}")
        print("total_seconds:    0.2")
        print("peak_vram_mb:     512.0")
        print("mfu_percent:      1.00")
        print("total_tokens_M:   0.1")
        print("num_steps:        10")
        print("num_params_M:     0.1")
        print(f"depth:            {DEPTH}")


    if __name__ == "__main__":
        main()
    ''')


def fake_bpb(run, lr=0.003, depth=4, width=128) -> float:
    """What the harness must score for the fake trainer with these knobs,
    computed here from the prepared corpus (not through deeploop's scorer)."""
    import math
    from deeploop.experiment.corpus import eval_targets
    train = (run.data_dir / "train.bin").read_bytes()
    val = (run.data_dir / "val.bin").read_bytes()
    counts = [1] * 256
    for b in train:
        counts[b] += 1
    unigram = [c / sum(counts) for c in counts]
    miss = (math.log10(lr) - math.log10(0.006)) ** 2 + 0.01 * (depth - 6) ** 2
    w = 0.99 * math.exp(-3 * miss) - 0.0001 * width / 128
    targets = eval_targets(val, run.corpus()["eval_bytes"])
    return -sum(math.log2((1 - w) / 256 + w * unigram[b]) for b in targets) / len(targets)


def corpus_text(documents: int = 30, lines: int = 80) -> str:
    """A deterministic multi-file text corpus big enough to split (~100 KB)."""
    parts = []
    for d in range(documents):
        parts.append(f"# ==> module_{d:02d}.py <==\n")
        for i in range(lines):
            parts.append(f"def function_{d}_{i}(value):\n"
                         f"    return value * {i} + {d}  # note {i % 7}\n")
    return "".join(parts)


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("DEEPLOOP_RUNS", str(root))
    return root


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(corpus_text(), encoding="utf-8")
    return path


def install_trainer(run, text: str = FAKE_TRAIN, message: str = "fake trainer for tests"):
    """Replace the workspace's train.py and commit, as a person would."""
    ws = run.workspace()
    ws.write(text)
    ws.commit(message)
    return ws


@pytest.fixture
def fake_run(runs_root, corpus_file):
    from deeploop.experiment.rundir import init_run
    run = init_run("t1", str(corpus_file))
    install_trainer(run)
    return run
