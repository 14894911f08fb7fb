"""Resume is replay: interrupted anywhere and resumed == run straight through."""
import json
import subprocess
import sys
import textwrap

import pytest

import deeploop.drill.journal as journal
from deeploop.drill import Drill
from deeploop.drill.journal import lock_path
from deeploop.errors import InputError, NotFound, RunLocked
from deeploop.events import EventLog
from .drill_helpers import (OWN_DRILLS, OWN_FINISHED, REPO, events_of, legacy_drills,
                            read_tree_json)
from tests.helpers import PATIENCE

ANSWERS = ["cause A", "BRANCH:cause B", "BEDROCK:nonsense", "BEDROCK:constraint — budget",
           "rethink", "deeper still", "BEDROCK:prior-decision"]


class Crash(BaseException):
    """A process dying mid-write: nothing after it runs."""


def straight_run() -> tuple[dict, list]:
    session = Drill.start("root claim", run_id="straight")
    for answer in ANSWERS:
        try:
            session.answer(answer)
        except InputError:
            pass
    judged = [(e["round"], e["score"], e["violations"])
              for e in events_of(session.run_dir, "judge_result")]
    return read_tree_json(session.run_dir), judged


def crash_on_write(monkeypatch, at: int):
    """Make the ``at``-th write (event, tree.json or state.md) of a drill crash."""
    count = [0]

    def counting(original):
        def wrapper(*args, **kwargs):
            count[0] += 1
            if count[0] == at:
                raise Crash(f"killed at write {at}")
            return original(*args, **kwargs)
        return wrapper
    monkeypatch.setattr(EventLog, "emit", counting(EventLog.emit))
    monkeypatch.setattr(journal, "save_tree", counting(journal.save_tree))
    monkeypatch.setattr(journal, "append_state", counting(journal.append_state))


def finish_by_resuming(run_id: str, runs_root) -> str:
    """Resume and answer on; the final status (a drill whose last answer was
    recorded before the kill is completed by the resume, which then refuses)."""
    try:
        session = Drill.resume(run_id)
    except InputError as exc:
        assert "finished: no open leaves" in str(exc)
        return json.loads((runs_root / "deeper" / run_id / "outcome.json").read_text())["status"]
    while not session.finished:
        try:
            session.answer(ANSWERS[session.rounds])  # rounds recorded = answers used
        except InputError:
            pass
    return str(session.status)


# run_started; six writes a round (question, answer, tree.json, judge, state.md, end),
# five for the rejected round, which leaves tree.json alone; loop_done
WRITES_PER_RUN = 1 + 6 * 6 + 5 + 1


@pytest.mark.parametrize("at", range(2, WRITES_PER_RUN + 2))
def test_killed_at_any_write_then_resumed_equals_straight(monkeypatch, runs_root, at):
    expected_tree, expected_judged = straight_run()
    with monkeypatch.context() as patch:
        crash_on_write(patch, at)
        session = Drill.start("root claim", run_id="crashed")
        with pytest.raises(Crash):
            for answer in ANSWERS:
                try:
                    session.answer(answer)
                except InputError:
                    pass
            raise Crash("the drill finished before the crash point")  # last writes
        session._lock.close()  # the dead process's lock goes with it
    if (session.run_dir / "outcome.json").exists():
        assert at == WRITES_PER_RUN + 1  # only when the crash point was past the last write
        return
    assert finish_by_resuming("crashed", runs_root) == "passed"
    run_dir = runs_root / "deeper" / "crashed"
    assert read_tree_json(run_dir) == expected_tree
    judged = [(e["round"], e["score"], e["violations"])
              for e in events_of(run_dir, "judge_result")]
    assert judged == expected_judged
    state = (run_dir / "state.md").read_text()
    assert [state.count(f"--- round {n} ---") for n in range(1, 8)] == [1] * 7


def test_a_pending_question_is_asked_again_not_replaced():
    session = Drill.start("root claim", run_id="p")
    session.answer("a")
    question = session.ask().text
    session._lock.close()
    resumed = Drill.resume("p")
    assert resumed.question == question
    assert len(events_of(resumed.run_dir, "question_emitted")) == 2
    resumed.answer("b")
    assert len(events_of(resumed.run_dir, "question_emitted")) == 2
    resumed.close()


def test_a_paused_drill_resumes_and_keeps_its_round_count():
    with Drill.start("root claim", run_id="r") as session:
        session.answer("a")
    resumed = Drill.resume("r")
    assert resumed.rounds == 1 and resumed.tree.cursor == (0,)
    result = resumed.answer("BEDROCK:identity")
    assert result.round == 2 and resumed.status == "passed"
    assert json.loads((resumed.run_dir / "outcome.json").read_text())["rounds"] == 2


def test_torn_last_line_is_the_lost_round(runs_root):
    with Drill.start("root claim", run_id="t") as session:
        session.answer("a")
    events = runs_root / "deeper" / "t" / "events.jsonl"
    with open(events, "a") as fh:
        fh.write('{"ts": "2026-01-01T00:00:00Z", "type": "answer_em')
    resumed = Drill.resume("t")
    resumed.answer("b")
    resumed.close()
    lines = events.read_text().splitlines()
    torn = [i for i, line in enumerate(lines) if line.endswith('"answer_em')]
    assert len(torn) == 1  # kept as it was, but ended, so the next event is whole
    assert json.loads(lines[torn[0] + 1])["type"] == "drill_resumed"
    assert [c["claim"] for c in read_tree_json(events.parent)["root"]["children"]] == ["a"]
    assert read_tree_json(events.parent)["root"]["children"][0]["children"][0]["claim"] == "b"


def test_corrupt_tree_json_is_named_and_left_as_it_was(runs_root):
    with Drill.start("root claim", run_id="c") as session:
        session.answer("a")
    tree_file = runs_root / "deeper" / "c" / "tree.json"
    tree_file.write_text('{"root": {"claim": ')
    events_before = (tree_file.parent / "events.jsonl").read_text()
    with pytest.raises(InputError) as err:
        Drill.resume("c")
    assert str(tree_file) in str(err.value) and "not valid JSON" in str(err.value)
    assert tree_file.read_text() == '{"root": {"claim": '
    assert (tree_file.parent / "events.jsonl").read_text() == events_before


def test_corrupt_journal_line_is_named_and_left_as_it_was(runs_root):
    with Drill.start("root claim", run_id="j") as session:
        session.answer("a")
        session.answer("b")
    events = runs_root / "deeper" / "j" / "events.jsonl"
    lines = events.read_text().splitlines()
    lines[3] = "garbage"
    events.write_text("\n".join(lines) + "\n")
    before = events.read_text()
    with pytest.raises(InputError, match=r"events.jsonl:4: not JSON.*cannot be replayed"):
        Drill.resume("j")
    assert events.read_text() == before


def test_unknown_run_is_refused():
    with pytest.raises(NotFound, match="no run 'nope'"):
        Drill.resume("nope")


def test_a_run_of_another_node_is_refused(runs_root):
    other = runs_root / "commit-msg" / "cm1"
    other.mkdir(parents=True)
    (other / "events.jsonl").write_text('{"type": "run_started", "node": "commit-msg"}\n')
    with pytest.raises(InputError, match="not a drill"):
        Drill.resume("cm1")


@pytest.mark.parametrize("run", legacy_drills(own=OWN_FINISHED))
def test_legacy_finished_drills_refuse_and_stay_unchanged(legacy_copy, run):
    run_dir = legacy_copy(run)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    with pytest.raises(InputError, match="finished: no open leaves"):
        Drill.resume(run.name)
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


def test_a_legacy_open_drill_with_a_cursor_path_continues(legacy_copy):
    run_dir = legacy_copy(OWN_DRILLS / "legacy-open")
    session = Drill.resume("legacy-open")
    assert session.rounds == 3 and session.tree.cursor == (1, 0)
    session.answer("BEDROCK:constraint")
    session.close()
    adopted = events_of(run_dir, "drill_adopted")
    assert len(adopted) == 1 and adopted[0]["base_tree"]["cursor"] == [1, 0]
    again = Drill.resume("legacy-open")  # replays from the adopted tree
    assert again.rounds == 4 and again.tree.cursor == (0,)


def _legacy_open_run(runs_root):
    """A run in the reference's format, still open: tree.json + judge events only."""
    run_dir = runs_root / "deeper" / "legacy-open"
    run_dir.mkdir(parents=True)
    (run_dir / "seed.md").write_text("# Starting claim\n\nWhy X?\n")
    tree = {"root": {"claim": "Why X?", "tag": "from-user", "bedrock": None, "children": [
        {"claim": "because Y", "tag": "from-user", "bedrock": None, "children": []}]},
        "cursor": [0]}
    (run_dir / "tree.json").write_text(json.dumps(tree, indent=2))
    (run_dir / "events.jsonl").write_text(json.dumps({
        "ts": "2026-05-22T16:36:39Z", "run_id": "legacy-open", "node": "deeper", "round": 1,
        "type": "judge_result", "score": 0.0, "violations": [],
        "detail": {"total_leaves": 1, "closed_leaves": 0, "max_depth": 1, "cursor": [0],
                   "done": False}}, separators=(",", ":")) + "\n")
    return run_dir


def test_a_recorded_open_drill_continues_unchanged(runs_root):
    run_dir = _legacy_open_run(runs_root)
    session = Drill.resume("legacy-open")
    assert session.rounds == 1 and session.tree.cursor == (0,)
    session.answer("because Z")
    session.close()
    adopted = events_of(run_dir, "drill_adopted")
    assert len(adopted) == 1 and adopted[0]["base_tree"]["cursor"] == [0]
    again = Drill.resume("legacy-open")  # replays from the adopted tree
    assert again.rounds == 2 and again.tree.cursor == (0, 0)
    again.answer("BEDROCK:empirical")
    assert again.status == "passed"
    tree = read_tree_json(run_dir)
    assert tree["root"]["children"][0]["children"][0]["children"][0]["bedrock"] == "empirical"
    assert [e["round"] for e in events_of(run_dir, "judge_result")] == [1, 2, 3]


def test_a_second_session_in_this_process_is_refused():
    session = Drill.start("root claim", run_id="l")
    with pytest.raises(RunLocked, match="deeper 'l' is in use by another process"):
        Drill.resume("l")
    session.close()
    Drill.resume("l").close()


def test_a_second_process_is_refused(runs_root):
    with Drill.start("root claim", run_id="two") as session:
        session.answer("a")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sys, time
            from deeploop.drill import Drill
            session = Drill.resume("two")
            print("holding", flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "holding"
        before = (runs_root / "deeper" / "two" / "events.jsonl").read_text()
        with pytest.raises(RunLocked, match="in use by another process"):
            Drill.resume("two")
        assert (runs_root / "deeper" / "two" / "events.jsonl").read_text() == before
    finally:
        holder.stdin.close()
        holder.wait(PATIENCE)
    Drill.resume("two").close()  # free again once the other process ended


def test_the_lock_lives_beside_the_run_folder(runs_root):
    session = Drill.start("root claim", run_id="side")
    assert lock_path(session.run_dir) == runs_root / "deeper" / ".side.drill.lock"
    assert not any(p.name.endswith(".lock") for p in session.run_dir.iterdir())
    session.close()


def test_resume_keeps_the_last_questioner(tmp_path):
    script = tmp_path / "questions.txt"
    script.write_text("What evidence shows it?\n")
    Drill.start("root claim", run_id="q").close()
    Drill.resume("q", questioner=f"scripted:{script}").close()
    again = Drill.resume("q")
    assert again.questioner.spec == f"scripted:{script}"
    assert again.ask().text == "What evidence shows it?"
    again.close()


def dead_holder(run_dir):
    """The running.json a process killed mid-drill left behind."""
    (run_dir / "running.json").write_text(json.dumps(
        {"pid": 2 ** 22 + 17, "host": "elsewhere", "start": None, "interval": 30,
         "started": "2026-01-01T00:00:00Z", "beat": 0}))


def test_a_run_a_dead_process_left_is_taken_over_with_a_run_stale_event(runs_root):
    with Drill.start("root claim", run_id="dead") as session:
        session.answer("a")
    run_dir = runs_root / "deeper" / "dead"
    dead_holder(run_dir)
    again = Drill.resume("dead")
    types = [e["type"] for e in json.loads("[" + ",".join(
        (run_dir / "events.jsonl").read_text().splitlines()) + "]")]
    assert types[-2:] == ["run_stale", "drill_resumed"]
    [stale] = events_of(run_dir, "run_stale")
    assert stale["host"] == "elsewhere" and stale["node"] == "deeper"
    assert json.loads((run_dir / "running.json").read_text())["host"] != "elsewhere"
    again.close()
    assert not (run_dir / "running.json").exists()


def test_a_refused_resume_of_a_dead_run_writes_nothing(runs_root):
    with Drill.start("root claim", run_id="deadc") as session:
        session.answer("a")
    run_dir = runs_root / "deeper" / "deadc"
    dead_holder(run_dir)
    (run_dir / "tree.json").write_text('{"root": ')
    before = (run_dir / "events.jsonl").read_text(), (run_dir / "running.json").read_text()
    with pytest.raises(InputError, match="not valid JSON"):
        Drill.resume("deadc")
    assert ((run_dir / "events.jsonl").read_text(), (run_dir / "running.json").read_text()) \
        == before


def test_the_round_in_flight_is_the_answered_round_with_no_end_marker():
    from deeploop.drill.resume import open_round
    q1 = {"type": "question_emitted", "round": 1, "question": "Why?"}
    a1 = {"type": "answer_emitted", "round": 1, "answer": "a"}
    j1 = {"type": "judge_result", "round": 1}
    e1 = {"type": "ralph_iter_end", "round": 1}
    q2 = {"type": "question_emitted", "round": 2, "question": "What evidence?"}
    a2 = {"type": "answer_emitted", "round": 2, "answer": "b"}
    assert open_round([q1, a1, j1, e1]) is None
    assert open_round([q1, a1, j1]) == (a1, q1, True)
    assert open_round([q1, a1, j1, e1, q2, a2]) == (a2, q2, False)
    assert open_round([q1, a1, j1, e1, a2]) == (a2, {}, False)  # no question of its own
    assert open_round([q1, a1, j1, e1, q2]) is None  # asked, not answered: asked again
