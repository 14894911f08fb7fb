"""The fixed side of train.py: data access, the time budget and ``evaluate_bpb``.

train.py (the one file the agent edits) imports this module; the agent never
edits it, so every experiment is scored the same way. ``evaluate_bpb`` is the
ground truth: bits per byte over ``eval_bytes`` validation bytes (a fixed
number per corpus, in chunks spread over the split), whatever context
length the model uses. Under the harness train.py cannot call it (the
validation bytes are not in its sandbox): ``score.py`` computes the same
figure in the harness from the model train.py saved (the contract is in
template/train.py's docstring and docs/experiment.md).
"""
from __future__ import annotations

import json
import math
import os
import resource
import shutil
import signal
import sys
import time
from pathlib import Path

from ..errors import InputError, require
from .corpus import eval_windows, load_default, prepare, read_prepared_meta

DEFAULT_BUDGET_CPU = 60.0
DEFAULT_BUDGET_GPU = 300.0
BUDGET_ENV = "DEEPLOOP_TIME_BUDGET"
DATA_ENV = "DEEPLOOP_DATA_DIR"
DEADLINE_ENV = "DEEPLOOP_DEADLINE"  # Unix time of the harness's SIGTERM (information)
MODEL_FILE = "model.pt"  # what train.py saves in its working directory; the harness scores it
STOP_GRACE = 5.0         # seconds between the harness's SIGTERM and its SIGKILL (for the save)
# Dense (no sparsity) bf16 tensor-core peak by GPU name, from NVIDIA's data
# sheets, for MFU on CUDA; the CPU peak is measured instead. The longest name
# contained in the device's name wins ("H100 PCIe" before "H100"); a GPU not
# listed has no peak, and its MFU is printed as unknown rather than guessed.
GPU_PEAK_FLOPS = {"B200": 2250e12, "H200": 989e12, "H100 PCIe": 756e12, "H100": 989e12,
                  "A100": 312e12, "L40S": 362e12, "L4": 121e12, "A10": 125e12,
                  "4090": 165e12, "3090": 71e12, "T4": 65e12}


def gpu_present() -> bool:
    """Whether an NVIDIA GPU is visible, without importing torch (for the harness)."""
    return Path("/proc/driver/nvidia/gpus").is_dir() or shutil.which("nvidia-smi") is not None


def parse_budget(value, what: str = BUDGET_ENV) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"{what} must be a positive number of seconds, got {value!r}")
    return seconds


def time_budget(cuda: bool | None = None) -> float:
    """Training seconds: ``$DEEPLOOP_TIME_BUDGET``, else 60 on CPU, 300 on GPU."""
    if os.environ.get(BUDGET_ENV):
        return parse_budget(os.environ[BUDGET_ENV])
    cuda = gpu_present() if cuda is None else cuda
    return DEFAULT_BUDGET_GPU if cuda else DEFAULT_BUDGET_CPU


def startup_allowance(budget: float) -> float:
    """Seconds a trainer may spend starting (imports, data, model) on top of
    its budget before the harness stops it: a quarter of the budget, at
    least 10 s, at most 30 s (15 s at the default 60 s)."""
    return min(30.0, max(10.0, budget / 4))


_stop = {"requested": False, "installed": False}


def stop_requested() -> bool:
    """True once the harness has sent SIGTERM (the deadline): stop training,
    save, exit. The first call installs the handler."""
    if not _stop["installed"]:
        _stop["installed"] = True
        try:
            signal.signal(signal.SIGTERM, lambda *_: _stop.update(requested=True))
        except ValueError:
            pass  # not the main thread: SIGTERM keeps its default (the process ends)
    return _stop["requested"]


def out_of_time(margin: float = 0.0) -> bool:
    """True once the harness asked to stop, or when fewer than ``margin``
    seconds are left before its deadline (``DEEPLOOP_DEADLINE``; never by hand)."""
    if stop_requested():
        return True
    deadline = os.environ.get(DEADLINE_ENV)
    try:
        return deadline is not None and time.time() + margin >= float(deadline)
    except ValueError:
        return False


def validation_available() -> bool:
    """Whether the validation bytes can be read here (by hand yes; in the sandbox no)."""
    try:
        return (data_dir() / "val.bin").stat().st_size > 0
    except OSError:
        return False


def data_dir() -> Path:
    """The prepared corpus: ``$DEEPLOOP_DATA_DIR`` (set by the harness), else the
    embedded corpus prepared once in the user's cache (for a run by hand)."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "deeploop" / "corpus-default"
    if not (folder / "corpus.json").exists():
        prepare(load_default(), folder)
    return folder


def corpus_meta() -> dict:
    return read_prepared_meta(data_dir())


def load_split(split: str, device="cpu"):
    """One split as a uint8 tensor of byte tokens."""
    torch = require("torch", "ml")
    if split not in ("train", "val"):
        raise InputError(f"unknown split {split!r}: use 'train' or 'val'")
    path = data_dir() / f"{split}.bin"
    if split == "val" and not validation_available():
        raise InputError("the validation split is not available here: the harness scores "
                         "the model train.py saves (see MODEL_FILE)")
    data = bytearray(path.read_bytes())
    return torch.frombuffer(data, dtype=torch.uint8).to(device)


def get_batch(data, batch_size: int, seq_len: int, generator=None):
    """Random windows: inputs and next-byte targets, both int64 (B, T)."""
    torch = require("torch", "ml")
    starts = torch.randint(0, len(data) - seq_len - 1, (batch_size,), generator=generator)
    offsets = starts[:, None] + torch.arange(seq_len + 1)
    window = data[offsets.to(data.device)].long()
    return window[:, :-1], window[:, 1:]


def evaluate_bpb(model, val, seq_len: int, batch_size: int = 64,
                 eval_bytes: int | None = None) -> float:
    """Bits per byte of ``model`` on the fixed validation bytes.

    ``model(x)`` must return logits or log-probs (B, T, 256): a module or
    any callable (``lambda x: logprobs(model, x)``). The scored bytes are chunks
    spread over the split (``corpus.eval_spans``); within a chunk the model
    reads windows of ``seq_len`` bytes that slide by half a window and is
    scored on the bytes it has not been scored on yet (``corpus.eval_windows``).
    Every scored byte thus has a real context, and the bytes scored never
    depend on ``seq_len``.
    """
    torch = require("torch", "ml")
    n = eval_bytes or corpus_meta()["eval_bytes"]
    if len(val) < n + 1:
        raise InputError(f"validation split has {len(val)} bytes, evaluation needs {n + 1}")
    groups: dict[tuple[int, int], list[int]] = {}
    for begin, end, scored in eval_windows(len(val), n, seq_len):
        groups.setdefault((end - begin, scored), []).append(begin)
    total_bits = 0.0
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.eval()
    with torch.inference_mode():
        for (length, scored), begins in groups.items():
            for i in range(0, len(begins), batch_size):
                total_bits += _score(model, val, begins[i:i + batch_size], length, scored, torch)
    if was_training is not None:
        model.train(was_training)
    return total_bits / n


def _score(model, val, begins: list[int], length: int, scored: int, torch) -> float:
    """Bits for the last ``scored`` predictions of windows of ``length`` bytes."""
    offsets = torch.tensor(begins)[:, None] + torch.arange(length + 1)
    window = val[offsets.to(val.device)].long()
    logits = model(window[:, :-1])[:, -scored:].float()
    nats = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.size(-1)), window[:, -scored:].reshape(-1), reduction="sum")
    return nats.item() / math.log(2)


def pick_threads() -> int:
    """Use all cores, unless one thread is faster now (threads wait for each other on a
    busy machine: 2 threads made a step 8x slower under load). Returns the threads set."""
    torch = require("torch", "ml")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    a, seconds = torch.randn(256, 256), {}
    for n in sorted({1, cores or 1}):
        torch.set_num_threads(n)
        started = time.perf_counter()
        for _ in range(8):
            a @ a
        seconds[n] = time.perf_counter() - started
    best = min(seconds, key=seconds.get)
    torch.set_num_threads(best)
    return best


def peak_memory_mb(device="cpu") -> float:
    """Peak memory of this process: CUDA allocations on GPU, peak RSS on CPU."""
    if str(device).startswith("cuda"):
        torch = require("torch", "ml")
        return torch.cuda.max_memory_allocated() / 2 ** 20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2 ** 20 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB else


def matmul_peak_flops(device="cpu", size: int = 2048, seconds: float = 0.5) -> float:
    """Measured float32 matmul throughput, the CPU reference for MFU."""
    torch = require("torch", "ml")
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # first call pays for allocation and kernel choice
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
    return 2 * size ** 3 * count / (time.perf_counter() - started)


def gpu_peak_flops(name: str) -> float | None:
    """Dense bf16 peak of a GPU by its device name; None when it is not in the table."""
    known = [k for k in GPU_PEAK_FLOPS if k.lower() in name.lower()]
    return GPU_PEAK_FLOPS[max(known, key=len)] if known else None


def peak_flops(device="cpu") -> float | None:
    """Reference peak for MFU: the table for GPUs (None for one it lacks: MFU
    unknown); on CPU a matmul measurement cached beside the prepared data, so
    it is paid once per run."""
    torch = require("torch", "ml")
    if str(device).startswith("cuda"):
        return gpu_peak_flops(torch.cuda.get_device_name())
    cache = data_dir() / "peak_flops.json"
    key = f"{torch.__version__}/{torch.get_num_threads()}"
    try:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return float(cached["flops"])
    except (OSError, ValueError, KeyError):
        pass
    flops = matmul_peak_flops(device)
    try:
        from ..fileio import atomic_write_json
        atomic_write_json(cache, {"key": key, "flops": flops})
    except OSError:
        pass  # a read-only data folder only costs a re-measurement next time
    return flops
