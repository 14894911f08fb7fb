"""The pieces every loop shares (deeploop/harness.py)."""
from __future__ import annotations

import threading

import pytest

from deeploop.errors import NotFound
from deeploop.harness import RunFolder, each, ending, in_flight, record_end, stop_requested
from deeploop.runs import Status


def test_the_round_in_flight_is_the_last_started_one_not_closed_after_it():
    def e(kind, n):
        return {"type": kind, "round": n}
    closed = ("done", "interrupted")
    assert in_flight([], "started", closed) is None
    assert in_flight([e("started", 1), e("done", 1)], "started", closed) is None
    assert in_flight([e("started", 1), e("done", 1), e("started", 2)], "started", closed) == \
        e("started", 2)
    # an interrupted number started again is in flight again
    events = [e("started", 1), e("interrupted", 1), e("started", 1)]
    assert in_flight(events, "started", closed) == e("started", 1)
    assert in_flight([e("started", 2), e("done", 1)], "started", closed) == e("started", 2)


def test_a_stop_file_is_consumed_and_a_stop_event_is_not(tmp_path):
    assert stop_requested(tmp_path) is None
    (tmp_path / "STOP").write_text("")
    assert stop_requested(tmp_path) == "STOP file"
    assert not (tmp_path / "STOP").exists() and stop_requested(tmp_path) is None
    event = threading.Event()
    event.set()
    run = RunFolder(tmp_path / "node" / "r1", "r1")
    assert stop_requested(run, event) == "stop event" and event.is_set()


def test_an_ending_records_aborted_or_failed_and_lets_the_error_through():
    recorded = []

    def record(reason, status, crashed):
        recorded.append((reason, status, crashed))
    with pytest.raises(KeyboardInterrupt), ending(record):
        raise KeyboardInterrupt
    with pytest.raises(ValueError), ending(record):
        raise ValueError("bad")
    with ending(record):
        pass
    stop = KeyboardInterrupt()
    stop.reason = "interrupted by SIGTERM"
    record_end(stop, record)
    record_end(SystemExit(1), record)  # not an interruption nor a failure: nothing recorded
    assert recorded == [("interrupted", Status.ABORTED, False),
                        ("ValueError: bad", Status.FAILED, True),
                        ("interrupted by SIGTERM", Status.ABORTED, False)]


def test_each_step_runs_even_when_one_before_it_fails():
    ran = []

    def broken():
        raise OSError("disk full")
    each([broken, lambda: ran.append(1), broken, lambda: ran.append(2)])
    assert ran == [1, 2]


def test_a_run_folder_names_its_files_and_its_kind(tmp_path):
    class Kind(RunFolder):
        node = "kind"
        settings_file = "kind.json"
    run = Kind(Kind.path_for("t", tmp_path), "t")
    assert run.path == tmp_path / "kind" / "t" and run.stop_path == run.path / "STOP"
    assert run.event_log().node == "kind" and run.event_log().run_id == "t"
    assert RunFolder(tmp_path / "deeper" / "id1", "id1").event_log().node == "deeper"
    with pytest.raises(NotFound, match="no kind tagged 't'.*: make it"):
        Kind.open("t", tmp_path, hint=": make it")
    run.path.mkdir(parents=True)
    (run.path / "kind.json").write_text("{}")
    assert Kind.exists("t", tmp_path) and Kind.open("t", tmp_path).path == run.path


def test_before_a_round_a_limit_comes_first_and_stop_is_asked_only_then(tmp_path):
    from deeploop.harness import before_round
    run = RunFolder(tmp_path / "node" / "r", "r")
    run.path.mkdir(parents=True)
    log = run.event_log()
    asked = []

    def ask():
        asked.append(1)
        return "STOP file"
    events, end = before_round(log, (Status.BUDGET, "dollars gone"), ask, 3)
    assert [e["type"] for e in events] == ["budget_exhausted"] and end[0] == Status.BUDGET
    events, end = before_round(log, (Status.PASSED, "target reached"), ask, 3)
    assert events == [] and end == (Status.PASSED, "target reached") and not asked
    events, end = before_round(log, None, ask, 3, "experiment")
    assert end == (Status.PAUSED, "stopped by STOP file after experiment 3")
    assert events[0]["type"] == "stop_requested" and events[0]["after_experiment"] == 3
    assert before_round(log, None, lambda: None, 4) == ([], None)
    assert "round" not in events[0]  # a loop without rounds in its events journals none


def test_a_loop_with_rounds_in_its_events_journals_the_round_with_a_stop_or_a_limit(tmp_path):
    from deeploop.harness import before_round
    run = RunFolder(tmp_path / "node" / "r", "r")
    run.path.mkdir(parents=True)
    events, end = before_round(run.event_log(), None, lambda: "stop event", 2, round=2)
    assert end == (Status.PAUSED, "stopped by stop event after round 2")
    assert (events[0]["round"], events[0]["after_round"]) == (2, 2)
    events, _ = before_round(run.event_log(), (Status.BUDGET, "tokens gone"), lambda: None, 2,
                             round=2)
    assert events[0]["round"] == 2 and events[0]["reason"] == "tokens gone"


def _loop(ended: list, steps: int = 3):
    """A loop of ``steps`` step records that records how it ended and returns "done"."""
    try:
        for n in range(1, steps + 1):
            yield {"type": "round" if n % 2 else "other", "round": n}
    except BaseException as exc:
        ended.append(type(exc).__name__)
        raise
    ended.append("finished")
    return "done"


def test_drive_hands_every_step_to_every_listener_and_returns_the_final_record():
    from deeploop.harness import drive, on
    ended, seen, rounds = [], [], []
    assert drive(_loop(ended), [seen.append, on("round", rounds.append)]) == "done"
    assert [s["round"] for s in seen] == [1, 2, 3] and [s["round"] for s in rounds] == [1, 3]
    assert ended == ["finished"]
    assert drive([{"type": "x"}], [seen.append]) is None and seen[-1] == {"type": "x"}


def test_drive_throws_a_listeners_error_into_the_loop_at_that_step():
    from deeploop.harness import drive
    ended, seen = [], []

    def listener(step):
        seen.append(step["round"])
        if step["round"] == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        drive(_loop(ended), [listener])
    assert seen == [1, 2] and ended == ["KeyboardInterrupt"]  # the loop saw it, step 3 never ran


def test_drive_closes_a_loop_that_swallows_a_listeners_error():
    from deeploop.harness import drive
    closed = []

    def stubborn():
        for n in range(3):
            try:
                yield {"type": "round", "round": n}
            except ValueError:
                pass
            except GeneratorExit:
                closed.append(n)
                raise

    def listener(step):
        raise ValueError("display broke")
    with pytest.raises(ValueError, match="display broke"):
        drive(stubborn(), [listener])
    assert closed == [1]
