"""Count tables of the training bytes, prepared once per corpus and order.

The default train.py mixes exact counts of "which byte followed this
context" into its predictions (as PPM and context-mixing compressors do).
The tables depend only on the training bytes and the context length, so
they are built here, by the package, once per corpus and order, and cached
beside the prepared corpus (``<data>/counts-v1/``), the way autoresearch's
``prepare.py`` tokenises once: the training budget is spent on training.
The harness prepares the orders a train.py's ``COUNT_MAX_ORDER`` asks for
before it starts the clock (``prepare_for``); a run by hand builds missing
tables on first use. train.py reads them (memory-mapped) and never writes.

Three parts are prepared: ``all`` (every training byte: what the model
uses when it is scored) and the two ``halves`` (alternate sixteenths), so a
model can learn to trust the counts on bytes its tables have not seen.

A table of order n lists, for each distinct n-byte context (a 56-bit hash,
sorted), the total count, and the (next byte, count) pairs seen after it:
``contexts, totals, starts, sizes`` per context and ``nexts, counts`` per
pair. The hashes make the tables exact in practice (collisions at 2^-56).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import InputError, require

VERSION = "counts-v1"
ORDERS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)   # the context lengths a table can have
PARTS = ("all", "half0", "half1")
KNOB = "COUNT_MAX_ORDER"                       # the train.py knob that picks the orders
VOCAB = 256
MIX = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64: the hashes wrap around on purpose
FIELDS = ("contexts", "totals", "starts", "sizes", "nexts", "counts")


def orders_up_to(max_order: int) -> list[int]:
    return [n for n in ORDERS if n <= max_order]


def context_hashes(x, orders):
    """Per order n, a hash of the n bytes ending at each position of ``x``
    (int64, (..., T)), low 8 bits clear; 1 where fewer than n bytes precede
    (no table holds 1, so those positions find nothing)."""
    torch = require("torch", "ml")
    F = torch.nn.functional
    wanted = set(orders)
    h, out = torch.zeros_like(x), []
    for k in range(max(orders)):
        h = (h + F.pad(x[..., :x.size(-1) - k], (k, 0)) + 1) * MIX
        if k + 1 in wanted:
            out.append(F.pad((h & -VOCAB)[..., k:], (k, 0), value=1))
    return out


def halves(data):
    """The two halves the ``half0``/``half1`` tables count: alternate 16ths of ``data``."""
    torch = require("torch", "ml")
    return [torch.cat(data.chunk(16)[k::2]) for k in range(2)]


def build(data, order: int) -> dict:
    """The table of one order over ``data`` (uint8 tensor)."""
    torch = require("torch", "ml")
    with torch.no_grad():
        x = data.long()
        (h,) = context_hashes(x[:-1], [order])
        pairs, counts = torch.unique(h[order - 1:] | x[order:], return_counts=True)
        contexts, sizes = torch.unique_consecutive(pairs & -VOCAB, return_counts=True)
        counts = counts.float()
        totals = torch.segment_reduce(counts, "sum", lengths=sizes)
        return {"contexts": contexts, "totals": totals, "starts": sizes.cumsum(0) - sizes,
                "sizes": sizes, "nexts": (pairs & 255).to(torch.uint8), "counts": counts}


def folder(data_dir: Path | str) -> Path:
    return Path(data_dir) / VERSION


def _path(data_dir, part: str, order: int) -> Path:
    return folder(data_dir) / f"{part}-o{order}.pt"


def _train_bytes(data_dir):
    torch = require("torch", "ml")
    raw = bytearray((Path(data_dir) / "train.bin").read_bytes())
    return torch.frombuffer(raw, dtype=torch.uint8)


def _part(data, part: str):
    return data if part == "all" else halves(data)[int(part[-1])]


def prepare(data_dir: Path | str, orders, progress=None) -> list[Path]:
    """Build and cache the tables of ``orders`` (all three parts) that are
    missing; returns the files written. Written atomically, so a reader never
    sees half a table and two preparers at once only duplicate work."""
    torch = require("torch", "ml")
    bad = sorted(set(orders) - set(ORDERS))
    if bad:
        raise InputError(f"no count table of order {bad[0]}: orders are {', '.join(map(str, ORDERS))}")
    missing = [(p, n) for n in orders for p in PARTS if not _path(data_dir, p, n).exists()]
    if not missing:
        return []
    folder(data_dir).mkdir(parents=True, exist_ok=True)
    data, written = _train_bytes(data_dir), []
    for part, order in missing:
        started, path = time.perf_counter(), _path(data_dir, part, order)
        table = build(_part(data, part), order)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save(table, tmp)
        os.replace(tmp, path)
        written.append(path)
        if progress:
            progress(f"count table {part} order {order}: {len(table['contexts']):,} contexts "
                     f"({time.perf_counter() - started:.1f} s)")
    return written


def load(data_dir: Path | str, part: str, orders) -> list[tuple]:
    """The tables of ``part`` for ``orders`` as tuples in FIELDS order,
    memory-mapped read-only; missing ones are built first (a run by hand)."""
    torch = require("torch", "ml")
    if part not in PARTS:
        raise InputError(f"unknown count-table part {part!r}: use one of {', '.join(PARTS)}")
    if any(not _path(data_dir, part, n).exists() for n in orders):
        prepare(data_dir, orders)
    tables = []
    for n in orders:
        table = torch.load(_path(data_dir, part, n), mmap=True, weights_only=True)
        tables.append(tuple(table[f] for f in FIELDS))
    return tables


def wanted_orders(train_source: str) -> list[int]:
    """The orders a train.py asks for through its COUNT_MAX_ORDER knob (none if it has none)."""
    from .knobs import read_knobs
    try:
        knob = read_knobs(train_source).get(KNOB)
    except InputError:
        return []  # a train.py that does not parse crashes on its own, with its own message
    if knob is None or isinstance(knob.value, (bool, str)):
        return []
    return orders_up_to(int(knob.value))


def prepare_for(workspace: Path | str, data_dir: Path | str, progress=None) -> float:
    """Harness side, before the clock starts: build the tables the workspace's
    train.py will ask for. Returns the seconds spent (0 when all were cached)."""
    path = Path(workspace) / "train.py"
    try:
        orders = wanted_orders(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return 0.0
    if not orders or not (Path(data_dir) / "train.bin").exists():
        return 0.0
    started = time.perf_counter()
    prepare(data_dir, orders, progress)
    return time.perf_counter() - started
