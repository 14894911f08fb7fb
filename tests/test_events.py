import json

from deeploop.events import EventLog, parse_lines, read_events


def test_emit_appends_one_flushed_line_with_the_envelope_first(tmp_path):
    log = EventLog(tmp_path / "events.jsonl", "r1", "n", clock=lambda: "2026-01-01T00:00:00Z")
    log.emit("agent_output", 1, output="hi")
    log.emit("loop_done")
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert list(first) == ["ts", "run_id", "node", "round", "type", "output"]
    assert first["ts"] == "2026-01-01T00:00:00Z" and first["round"] == 1
    assert "round" not in json.loads(lines[1])


def test_listeners_see_every_event(tmp_path):
    seen = []
    log = EventLog(tmp_path / "e.jsonl", "r", "n", listeners=[seen.append])
    log.emit("x", 2)
    assert seen[0]["type"] == "x"


def test_reader_skips_malformed_lines_and_reports_file_and_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"type": "a", "round": 1}\nnot json\n\n[1, 2]\n{"type": "b"}\n{"no": "type"}\n')
    journal = read_events(path)
    assert [e["type"] for e in journal.events] == ["a", "b"]
    assert [p.split(": ")[0] for p in journal.problems] == [f"{path}:2", f"{path}:4", f"{path}:6"]


def test_missing_file_is_an_empty_journal(tmp_path):
    journal = read_events(tmp_path / "nope.jsonl")
    assert journal.events == [] and journal.problems == []


def test_truncated_last_line_of_a_killed_writer_is_skipped():
    journal = parse_lines(['{"type": "a"}\n', '{"type": "b", "outp'])
    assert len(journal.events) == 1 and len(journal.problems) == 1
