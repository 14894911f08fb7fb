"""MFU's reference peak: a table for GPUs, unknown rather than guessed."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deeploop.experiment.evaluate import gpu_peak_flops


@pytest.mark.parametrize("name, peak", [
    ("NVIDIA H100 80GB HBM3", 989e12),
    ("NVIDIA H100 PCIe", 756e12),
    ("NVIDIA H200", 989e12),
    ("NVIDIA B200", 2250e12),
    ("NVIDIA A100-SXM4-80GB", 312e12),
    ("NVIDIA GeForce RTX 4090", 165e12),
])
def test_known_gpus_have_their_dense_bf16_peak(name, peak):
    assert gpu_peak_flops(name) == peak


def test_an_unknown_gpu_has_no_peak():
    assert gpu_peak_flops("Some Future Accelerator X1") is None


torch = pytest.importorskip("torch")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.timeout(600)
def test_template_trains_on_a_gpu_with_bf16_compile_and_a_known_peak(tmp_path):
    """On CUDA the template trains in bf16 autocast with compiled blocks and
    prints MFU against the table's peak (or 'unknown' for an unlisted GPU)."""
    from deeploop.experiment.corpus import load_default, prepare
    from deeploop.experiment.rundir import template_files
    from deeploop.experiment.trainer import run_training
    prepare(load_default(), tmp_path / "data")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "train.py").write_text(template_files()["train.py"])
    result = run_training(ws, tmp_path / "train.log", 20, tmp_path / "data")
    log = (tmp_path / "train.log").read_text()
    assert result.returncode == 0, log[-2000:]
    assert "device cuda" in log and result.summary["num_steps"] > 0
    if gpu_peak_flops(torch.cuda.get_device_name()) is None:
        assert "mfu_percent:      unknown" in log
    else:
        assert 0 < result.summary["mfu_percent"] < 100
