"""Count tables prepared by the package, outside the training budget."""
from __future__ import annotations

import collections
import importlib.util

import pytest

from deeploop.errors import InputError
from deeploop.experiment import counts
from deeploop.experiment.corpus import make_corpus, prepare
from deeploop.experiment.knobs import set_knobs
from deeploop.experiment.rundir import template_files

from .conftest import corpus_text

torch = pytest.importorskip("torch")
MARKER = b"zqxjvkwpyqzjxvkqwzjq"


@pytest.fixture
def data_dir(tmp_path):
    docs = corpus_text().split("# ==> ")[1:]
    text = "".join("# ==> " + d + (f"{MARKER.decode()}\n" if i % 10 == 9 else "")
                   for i, d in enumerate(docs))  # every 10th document is validation
    folder = tmp_path / "data"
    prepare(make_corpus("t", text.encode(), "test"), folder)
    assert MARKER in (folder / "val.bin").read_bytes()
    assert MARKER not in (folder / "train.bin").read_bytes()
    return folder


def test_tables_are_exact_counts_of_the_training_bytes(data_dir):
    train = (data_dir / "train.bin").read_bytes()
    [(contexts, totals, starts, sizes, nexts, cnt)] = counts.load(data_dir, "all", [1])
    expected = collections.Counter(zip(train[:-1], train[1:]))
    [hashes] = counts.context_hashes(torch.tensor(list(range(256))).view(256, 1), [1])
    found = {}
    for byte in range(256):
        i = int(torch.searchsorted(contexts, hashes[byte, 0]))
        if i < len(contexts) and contexts[i] == hashes[byte, 0]:
            s, n = int(starts[i]), int(sizes[i])
            found.update({(byte, int(b)): float(c) for b, c in zip(nexts[s:s + n], cnt[s:s + n])})
            assert float(totals[i]) == sum(cnt[s:s + n].tolist())
    assert found == {pair: float(n) for pair, n in expected.items()}


def test_tables_never_hold_validation_bytes(data_dir):
    x = torch.tensor(list(MARKER))
    for order in (4, 8, 16):
        marker_contexts = counts.context_hashes(x, [order])[0][order - 1:]
        for part in counts.PARTS:
            [table] = counts.load(data_dir, part, [order])
            assert not torch.isin(marker_contexts, table[0]).any(), (part, order)


def test_prepared_once_and_cached(data_dir):
    written = counts.prepare(data_dir, [1, 2, 3])
    assert len(written) == 9 and all(p.exists() for p in written)
    stamps = {p: p.stat().st_mtime_ns for p in written}
    assert counts.prepare(data_dir, [1, 2, 3]) == []
    counts.load(data_dir, "half1", [2, 3])
    assert {p: p.stat().st_mtime_ns for p in written} == stamps
    assert not list(counts.folder(data_dir).glob(".*tmp"))


def test_bad_order_or_part_is_one_clear_error(data_dir):
    with pytest.raises(InputError, match="no count table of order 5"):
        counts.prepare(data_dir, [5])
    with pytest.raises(InputError, match="unknown count-table part"):
        counts.load(data_dir, "val", [1])


def test_harness_prepares_what_train_py_asks_for(data_dir, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "train.py").write_text(set_knobs(template_files()["train.py"], {"COUNT_MAX_ORDER": 3}))
    assert counts.prepare_for(ws, data_dir) > 0
    names = sorted(p.name for p in counts.folder(data_dir).iterdir())
    assert names == sorted(f"{part}-o{n}.pt" for part in counts.PARTS for n in (1, 2, 3))
    assert counts.prepare_for(ws, data_dir) < 5  # cached: nothing to build
    (ws / "train.py").write_text("print('no knobs here')\n")
    assert counts.prepare_for(ws, data_dir) == 0.0
    (ws / "train.py").write_text("def broken(:\n")
    assert counts.prepare_for(ws, data_dir) == 0.0  # its own crash says what is wrong


def load_template(monkeypatch, data_dir, tmp_path, **knobs):
    monkeypatch.setenv("DEEPLOOP_DATA_DIR", str(data_dir))
    path = tmp_path / "template_train.py"
    path.write_text(set_knobs(template_files()["train.py"], knobs))
    spec = importlib.util.spec_from_file_location("template_train", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # importing never trains
    return module


def test_template_predictions_are_causal(monkeypatch, data_dir, tmp_path):
    t = load_template(monkeypatch, data_dir, tmp_path, DEPTH=1, WIDTH=32, HEADS=2, SEQ_LEN=64,
                      NGRAM_BUCKETS=1024)
    torch.manual_seed(0)
    model = t.GPT("cpu")
    t.load_counts(model, "cpu")
    for p in model.parameters():  # random weights, so every path carries signal
        torch.nn.init.normal_(p, std=0.1)
    x = torch.randint(0, 256, (2, 64))
    for position in (0, 17, 63):
        y = x.clone()
        y[:, position] = (y[:, position] + 1) % 256
        with torch.no_grad():
            a, b = model(x), model(y)
        assert torch.equal(a[:, :position], b[:, :position])
        assert not torch.equal(a[:, position:], b[:, position:])


def test_template_counts_its_count_work_in_flops(monkeypatch, data_dir, tmp_path):
    t = load_template(monkeypatch, data_dir, tmp_path)
    model = t.GPT("cpu")
    dense = t.flops_per_token(model) - t.count_flops_per_token()
    assert t.count_flops_per_token() > 0 and dense > 0
    fewer = load_template(monkeypatch, data_dir, tmp_path, COUNT_MAX_ORDER=4)
    assert fewer.count_flops_per_token() < t.count_flops_per_token()
