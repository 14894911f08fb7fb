import pytest

from deeploop.errors import InputError
from deeploop.research.knowledge import COLUMNS, Entry, append_entry, parse_index, read_index


def entry(q="What is X?", conf="HIGH", status="answered"):
    return Entry(q, "X is a thing.", ["a.md#intro", "b.md#x"], conf, ["How is X built?"],
                 status, "v1", 2)


def test_append_creates_header_and_round_trips(tmp_path):
    path = tmp_path / "knowledge_index.tsv"
    append_entry(path, entry())
    append_entry(path, Entry("Tab\tin it?", "line\nbreak", [], "LOW", [], "partial", "v1", 1))
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == COLUMNS and len(lines) == 3
    index = read_index(path)
    assert index.entries[0] == entry()
    assert index.entries[1].question == "Tab in it?" and index.entries[1].answer_summary == "line break"


def test_reference_six_column_files_load():
    text = ("question\tanswer_summary\tsources\tconfidence\tgaps_identified\tstatus\n"
            "What is A?\tA.\thttps://a|https://b\tHIGH\tWhy A?|Who A?\tanswered\n")
    index = parse_index(text)
    assert index.entries[0].sources == ["https://a", "https://b"]
    assert index.entries[0].gaps == ["Why A?", "Who A?"] and index.entries[0].search_count == 0


def test_bad_rows_are_reported_kept_and_not_counted(tmp_path):
    path = tmp_path / "k.tsv"
    path.write_text("\t".join(COLUMNS) + "\n"
                    "Q1?\ts\ta\tHIGH\t\tanswered\tv1\t2\n"
                    "Q2?\ts\ta\tSURE\t\tanswered\tv1\t2\n"
                    "Q3?\ts\ta\tLOW\t\tdone\tv1\t2\n"
                    "Q4?\ts\ta\tLOW\t\tpartial\tv1\tmany\n")
    index = read_index(path)
    assert [e.question for e in index.entries] == ["Q1?"]
    assert [p.split(": ")[0] for p in index.problems] == [f"{path}:3", f"{path}:4", f"{path}:5"]
    append_entry(path, entry())
    assert len(path.read_text().splitlines()) == 6  # nothing dropped


def test_short_and_non_utf8_rows_are_named_kept_and_not_counted(tmp_path):
    path = tmp_path / "k.tsv"
    good = "Q1?\ts\ta\tHIGH\t\tanswered\tv1\t2\n"
    path.write_bytes(("\t".join(COLUMNS) + "\n" + good + "bad row only\tx\n").encode()
                     + b"caf\xe9?\ts\ta\tHIGH\t\tanswered\tv1\t2\n")
    index = read_index(path)
    assert [e.question for e in index.entries] == ["Q1?"]
    assert index.problems == [f"{path}:3: fewer cells than columns (no confidence)",
                              f"{path}:4: bytes that are not UTF-8 text"]
    append_entry(path, entry())
    assert b"caf\xe9?" in path.read_bytes() and len(read_index(path).entries) == 2


def test_missing_required_column_is_named():
    with pytest.raises(InputError, match="missing column 'confidence'"):
        parse_index("question\tstatus\nQ?\tanswered\n")
