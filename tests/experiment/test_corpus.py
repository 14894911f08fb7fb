"""Corpora: the embedded default, a person's files, TinyStories from a local
path; the fixed split and the evaluated bytes."""
from __future__ import annotations

import pytest

from deeploop.errors import InputError
from deeploop.experiment import corpus as C
from deeploop.experiment.corpus import load_tinystories

from .conftest import corpus_text


def test_embedded_corpus_is_big_checked_and_split_by_document():
    corpus = C.load_default()
    assert corpus.sha256 == C.DEFAULT_SHA256
    assert len(corpus.train) + len(corpus.val) >= 2_000_000
    docs = C.split_documents(corpus.train + corpus.val)
    assert len(docs) == 149
    assert corpus.val.startswith(b"# ==> ")  # whole documents
    assert 0.05 < len(corpus.val) / (len(corpus.train) + len(corpus.val)) < 0.15
    assert corpus.eval_bytes == C.EVAL_BYTES
    assert (C.DATA_DIR / "NOTICE.txt").read_text().count("PSF") >= 1
    assert "PYTHON SOFTWARE FOUNDATION LICENSE" in (C.DATA_DIR / "PSF-LICENSE.txt").read_text()


def test_the_split_is_fixed_by_content():
    text = corpus_text().encode()
    train, val = C.split_train_val(text)
    assert train + val != text and sorted(train + val) == sorted(text)
    assert val.count(b"# ==> ") == 3 and b"module_09.py" in val and b"module_19.py" in val
    assert C.split_train_val(text) == (train, val)


def test_eval_spans_are_spread_fixed_and_disjoint():
    spans = C.eval_spans(234_132, 65_536)
    assert len(spans) == 16 and sum(n for _, n in spans) == 65_536
    assert all(b[0] >= a[0] + a[1] for a, b in zip(spans, spans[1:]))
    assert spans[-1][0] + spans[-1][1] + 1 <= 234_132
    assert C.eval_spans(10_000, 9_999) == [(0, 9_999)]  # too small to spread
    val = bytes(range(256)) * 40
    assert len(C.eval_targets(val, 9_000)) == 9_000


def test_user_folder_skips_hidden_and_binary_files(tmp_path):
    for i in range(12):
        (tmp_path / f"doc{i:02d}.md").write_text(f"# notes {i}\n" + "some words here\n" * 400)
    (tmp_path / ".hidden").write_text("secret\n" * 1000)
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" * 5000)
    corpus = C.load_paths(tmp_path)
    assert b"secret" not in corpus.train + corpus.val and b"\x00" not in corpus.train
    assert b"doc09.md" in corpus.val and corpus.name == f"data:{tmp_path.name}"
    assert C.load_corpus(str(tmp_path)).sha256 == corpus.sha256


def test_single_user_file_splits_at_a_line_end(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text("".join(f"line {i} of the book\n" for i in range(5000)))
    corpus = C.load_paths(path)
    assert corpus.val.startswith(b"line ") and corpus.train.endswith(b"\n")
    assert 0.09 < len(corpus.val) / (len(corpus.train) + len(corpus.val)) < 0.11


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "--data path not found"),
    (lambda p: p.mkdir(), "holds no non-empty text files"),
    (lambda p: p.write_text("tiny\n"), "is too small"),
])
def test_bad_data_paths(tmp_path, setup, message):
    target = tmp_path / "data"
    setup(target)
    with pytest.raises(InputError, match=message):
        C.load_corpus(str(target))


def story(i):
    return f"Once upon a time, a cat named Tom {i} found a red ball. He was happy.\n"


def test_tinystories_from_a_local_file(tmp_path):
    path = tmp_path / "TinyStories-sample.txt"
    path.write_text("<|endoftext|>".join(story(i) * 3 for i in range(400)))
    corpus = C.load_corpus(f"tinystories:{path}")
    assert corpus.name == "tinystories" and b"<|endoftext|>" not in corpus.val
    assert corpus.val.count(b"Once upon") == 40 * 3
    truncated = load_tinystories(str(path), max_bytes=60_000)
    assert len(truncated.train) + len(truncated.val) < 60_000


def test_tinystories_folder_uses_the_official_split(tmp_path):
    (tmp_path / "TinyStoriesV2-GPT4-train.txt").write_text(
        "<|endoftext|>".join(story(i) for i in range(900)))
    (tmp_path / "TinyStoriesV2-GPT4-valid.txt").write_text(
        "<|endoftext|>".join(story(i) for i in range(900, 1000)))
    corpus = C.load_corpus(f"tinystories:{tmp_path}")
    assert b"Tom 950" in corpus.val and b"Tom 950" not in corpus.train
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="lacks TinyStoriesV2-GPT4-train.txt"):
        load_tinystories(str(tmp_path / "empty"))


def test_prepared_data_round_trip_and_damage(tmp_path):
    corpus = C.make_corpus("x", corpus_text().encode(), "test")
    meta = C.prepare(corpus, tmp_path / "d")
    assert C.read_prepared_meta(tmp_path / "d") == meta
    (tmp_path / "d" / "val.bin").write_bytes(b"short")
    with pytest.raises(InputError, match="damaged"):
        C.read_prepared_meta(tmp_path / "d")


@pytest.mark.parametrize("seq_len", [1, 2, 7, 128, 256, 5000])
def test_eval_windows_score_every_byte_once_with_context(seq_len):
    val_len, n = 234_132, 65_536
    windows = C.eval_windows(val_len, n, seq_len)
    scored = []
    for begin, end, k in windows:
        assert 0 < k <= end - begin <= seq_len and end + 1 <= val_len
        scored.extend(range(end - k + 1, end + 1))  # target byte indices
        first = any(begin == s for s, _ in C.eval_spans(val_len, n)) and k == end - begin
        assert first or end - k - begin >= seq_len // 2  # half a context before scored bytes
    expected = [s + 1 + i for s, length in C.eval_spans(val_len, n) for i in range(length)]
    assert scored == expected
