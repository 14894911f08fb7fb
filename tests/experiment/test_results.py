"""results.tsv: read by header names, bad rows reported and kept and never
best, appends in the file's own column order, real autoresearch files load."""
from __future__ import annotations

import pytest

from deeploop.errors import InputError
from deeploop.experiment.results import (HEADER, append_row, new_row, parse_results,
                                         read_results)
from deeploop.experiment.status import format_status, summarize

from tests.helpers import OWN_RESULTS, OWN_WIDE_RESULTS, RECORDED_RESULTS, recordings


def test_reads_a_five_column_results_file():
    results = read_results(OWN_RESULTS)
    assert results.problems == []
    assert len(results.rows) == 7 and results.header == list(HEADER)
    assert results.best().val_bpb == 2.052764 and results.best().commit == "7e5f0a8"
    assert results.baseline().val_bpb == 2.143187
    assert len(results.experiments()) == 6
    assert (results.count("keep"), results.count("discard"), results.count("crash")) == (3, 2, 1)


def test_reads_extra_columns_and_long_descriptions_by_name():
    results = read_results(OWN_WIDE_RESULTS)
    assert results.problems == [] and len(results.rows) == 6
    assert results.header[:3] == ["commit", "val_bpb", "memory_gb"]
    best = results.best()
    assert (best.commit, best.val_bpb, best.memory_gb) == ("f39d51a", 1.971122, 2.5)
    assert best.description.startswith("gradient clipping at 1.0, then LR 3e-3 -> 4.5e-3 (+50%);")
    assert best.extra == {"mfu": "11.9", "tok_per_sec": "19800", "artifact_mb": "15.1"}
    assert results.rows[2].description.count('"') == 2  # quotes are kept as written
    assert (results.count("keep"), results.count("discard"), results.count("crash")) == (2, 2, 1)


@recordings
def test_reads_a_real_autoresearch_file():
    results = read_results(RECORDED_RESULTS)
    assert results.problems == []
    assert len(results.rows) == 5 and results.header == list(HEADER)
    assert results.best().val_bpb == 1.807902 and results.best().commit == "5efc7aa"
    assert results.baseline().val_bpb == 2.667
    assert len(results.experiments()) == 4
    assert results.count("keep") == 3 and results.count("discard") == 1


def test_extra_and_reordered_columns_are_read_by_name():
    text = ("status\tdescription\tval_bpb\tmfu\tcommit\tmemory_gb\n"
            "keep\tbaseline\t1.500000\t33.1\taaaaaaa\t2.0\n"
            "keep\tLR 0.1 -> 0.2, a long free-text note\t1.400000\t34.0\tbbbbbbb\t2.1\n")
    results = parse_results(text)
    assert results.best().commit == "bbbbbbb"
    assert results.rows[1].extra == {"mfu": "34.0"}


def test_bad_rows_are_reported_kept_and_never_best(tmp_path):
    path = tmp_path / "results.tsv"
    path.write_text("commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"
                    "aaaaaaa\t1.500000\t2.0\tkeep\tbaseline\n"
                    "bbbbbbb\t0.100000\t2.0\tkept\ttypo in status\n"
                    "ccccccc\tfast\t2.0\tkeep\tnot a number\n"
                    "ddddddd\t0.200000\tkeep\tmissing a field\n"
                    "eeeeeee\t0.000000\t0.0\tcrash\tcrash rows never count\n"
                    "fffffff\t1.400000\t2.0\tkeep\tgood\n")
    results = read_results(path)
    assert results.best().commit == "fffffff"
    assert [p.split(": ", 1)[0] for p in results.problems] == [
        f"{path}:3", f"{path}:4", f"{path}:5"]
    assert "status must be keep, discard or crash" in results.problems[0]
    append_row(path, new_row("1234567890", "discard", "DEPTH 4 -> 5", 1.45, 2.0))
    text = path.read_text()
    assert "ccccccc\tfast" in text and "typo in status" in text  # nothing lost
    assert text.endswith("1234567\t1.450000\t2.0\tdiscard\tDEPTH 4 -> 5\n")
    status = summarize(read_results(path))  # malformed rows are listed, not experiments
    assert (status.experiments, status.kept, status.discarded, status.crashed,
            status.malformed) == (3, 1, 1, 1, 3)
    assert "kept / discarded / crashed: 1 / 1 / 1   malformed rows: 3" in format_status(status)


def test_missing_columns_are_named():
    with pytest.raises(InputError, match="has no val_bpb column"):
        parse_results("commit\tscore\tstatus\n")
    with pytest.raises(InputError, match="has no val_bpb or status column"):
        parse_results("commit\tdescription\n")


def test_append_creates_header_and_follows_file_order(tmp_path):
    path = tmp_path / "r.tsv"
    append_row(path, new_row("abcdef0123", "crash", "tab\there\nnewline", 9.9, 3.0))
    assert path.read_text() == ("\t".join(HEADER) + "\n"
                                "abcdef0\t0.000000\t0.0\tcrash\ttab here newline\n")
    other = tmp_path / "o.tsv"
    other.write_text("description\tstatus\tval_bpb\tcommit\tnote\nbaseline\tkeep\t2.0\tx")
    append_row(other, new_row("y" * 40, "keep", "LR 1 -> 2", 1.5, 1.0))
    assert other.read_text().splitlines()[-1] == "LR 1 -> 2\tkeep\t1.500000\tyyyyyyy\t"
    assert read_results(other).problems == []


def test_missing_file_is_empty_and_folder_is_an_error(tmp_path):
    assert read_results(tmp_path / "none.tsv").rows == []
    with pytest.raises(InputError, match="is a folder"):
        read_results(tmp_path)


def test_a_byte_order_mark_keeps_the_commit_column(tmp_path):
    path = tmp_path / "results.tsv"
    path.write_bytes("\ufeffcommit\tval_bpb\tmemory_gb\tstatus\tdescription\n"
                     "aaaaaaa\t1.500000\t2.0\tkeep\tbaseline\n".encode("utf-8"))
    results = read_results(path)
    assert results.header[0] == "commit" and results.rows[0].commit == "aaaaaaa"
    assert results.best().commit == "aaaaaaa"


def test_status_words_and_header_names_are_read_without_case():
    text = ("Commit\tVal_BPB\tmemory_gb\tSTATUS\tdescription\n"
            "aaaaaaa\t1.500000\t2.0\tKEEP\tbaseline\n"
            "bbbbbbb\t1.400000\t2.0\tKeep\tLR 0.1 -> 0.2\n"
            "ccccccc\t1.600000\t2.0\tDiscard\tLR 0.2 -> 0.4\n"
            "ddddddd\t0.000000\t0.0\tCRASH\tLR 0.2 -> 9\n")
    results = parse_results(text)
    assert results.problems == []
    assert [r.status for r in results.rows] == ["keep", "keep", "discard", "crash"]
    assert results.best().commit == "bbbbbbb"
    assert (results.count("keep"), results.count("discard"), results.count("crash")) == (1, 1, 1)


def test_status_and_meta_count_the_same_file_the_same_way(tmp_path):
    """One reader: malformed rows are problems, not experiments, for both."""
    from deeploop.meta.inputs import gather_file
    path = tmp_path / "results.tsv"
    path.write_text("commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"
                    "aaaaaaa\t1.500000\t2.0\tkeep\tbaseline\n"
                    "bbbbbbb\t1.400000\t2.0\tkeep\tLR 0.1 -> 0.2\n"
                    "ccccccc\tbanana\t2.0\tdiscard\tLR 0.2 -> 0.4\n"
                    "ddddddd\t1.450000\t2.0\tmaybe\tDEPTH 4 -> 5\n"
                    "eeeeeee\t1.420000\t2.0\tdiscard\tDEPTH 4 -> 3\n", encoding="utf-8")
    status = summarize(read_results(path))
    summary = gather_file(path).summary
    assert status.experiments == summary.experiments == 2
    assert (status.kept, status.discarded, status.crashed) == \
        (summary.keeps, summary.discards, summary.crashes) == (1, 1, 0)
    assert status.malformed == 2 and len(status.problems) == 2
