"""The shipped train.py and the fixed evaluation it is scored by."""
from __future__ import annotations

import math
import re

import pytest

from deeploop.experiment.corpus import make_corpus, prepare
from deeploop.experiment.decide import crash_reason
from deeploop.experiment.knobs import read_knobs, set_knobs
from deeploop.experiment.rundir import template_files
from deeploop.experiment.runner import SUMMARY_KEYS, run_training

from .conftest import corpus_text

TEMPLATE = template_files()["train.py"]
torch = pytest.importorskip("torch")


def test_template_is_one_readable_file_with_a_marked_block():
    assert len(TEMPLATE.splitlines()) < 350
    assert "# --- hyperparameters" in TEMPLATE and "# --- end hyperparameters" in TEMPLATE
    assert len(read_knobs(TEMPLATE)) >= 15
    # the knobs the issue names: depth, width, heads, sequence length, batch,
    # learning rates, warmup/warmdown, weight decay
    assert {"DEPTH", "WIDTH", "HEADS", "SEQ_LEN", "BATCH_SIZE", "MATRIX_LR", "EMBED_LR",
            "WARMUP_FRAC", "WARMDOWN_FRAC", "WEIGHT_DECAY"} <= set(read_knobs(TEMPLATE))
    assert re.findall(r"^from deeploop\S* import .*$", TEMPLATE, re.M) == [
        "from deeploop.experiment import counts, evaluate as fixed"]
    printed = re.findall(r'print\(f"([a-z_M]+):', TEMPLATE)
    assert printed == list(SUMMARY_KEYS)


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    prepare(make_corpus("t", corpus_text().encode(), "test"), folder)
    return folder


def test_evaluate_bpb_is_8_bits_for_a_uniform_model(data_dir, monkeypatch):
    from deeploop.experiment import evaluate
    monkeypatch.setenv("DEEPLOOP_DATA_DIR", str(data_dir))

    class Uniform(torch.nn.Module):
        def forward(self, x):
            return torch.zeros(*x.shape, 256)

    val = evaluate.load_split("val")
    for seq_len in (7, 64, 1000):
        assert evaluate.evaluate_bpb(Uniform(), val, seq_len) == pytest.approx(8.0)


def test_evaluate_bpb_rewards_knowing_the_next_byte(data_dir, monkeypatch):
    from deeploop.experiment import evaluate
    monkeypatch.setenv("DEEPLOOP_DATA_DIR", str(data_dir))
    val = evaluate.load_split("val")
    table = torch.zeros(256, 256)  # a bigram model fitted on the validation bytes themselves
    pairs = val[:-1].long() * 256 + val[1:].long()
    table.view(-1).index_add_(0, pairs, torch.ones(len(pairs)))

    class Bigram(torch.nn.Module):
        def forward(self, x):
            return torch.log(table[x] + 1e-3)

    bpb = evaluate.evaluate_bpb(Bigram(), val, 64)
    assert 0 < bpb < 3.0 and math.isfinite(bpb)


@pytest.mark.timeout(120)
def test_diverging_training_fails_fast(data_dir, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "train.py").write_text(set_knobs(TEMPLATE, {"EMBED_LR": 1000.0, "MATRIX_LR": 1000.0,
                                                      "NGRAM_LR": 1000.0, "GRAD_CLIP": 0.0}))
    result = run_training(ws, tmp_path / "x.log", 60, data_dir)
    assert crash_reason(result).startswith("FAIL: loss")
    assert "training diverged" in result.fail_line
    assert result.summary == {}
