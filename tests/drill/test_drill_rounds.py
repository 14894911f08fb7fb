"""Sessions: what a drill writes each round, how it ends, and what it refuses."""
import json

import pytest

from deeploop.budget import Budget
from deeploop.drill import Drill, RejectedAnswer
from deeploop.errors import InputError
from deeploop.runs import load_run
from .drill_helpers import answer_all, events_of, read_tree_json


def test_a_drill_is_a_run_of_the_deeper_node(runs_root):
    session = Drill.start("Why does checkout keep regressing?", run_id="d1")
    assert session.run_dir == runs_root / "deeper" / "d1"
    assert (session.run_dir / "seed.md").read_text() == \
        "# Starting claim\n\nWhy does checkout keep regressing?\n"
    assert read_tree_json(session.run_dir) == {"root": {
        "claim": "Why does checkout keep regressing?", "tag": "from-user", "bedrock": None,
        "children": []}, "cursor": []}
    started = events_of(session.run_dir, "run_started")[0]
    assert started["claim"] == "Why does checkout keep regressing?" and started["hard_cap"] == 20
    session.close()


def test_each_round_writes_events_in_order_and_the_tree():
    session = Drill.start("root claim")
    answer_all(session, ["cause A", "BRANCH:cause B", "BEDROCK:constraint", "rethink",
                         "BEDROCK:prior-decision"])
    types = [e["type"] for e in events_of(session.run_dir)]
    round_types = ["question_emitted", "answer_emitted", "judge_result", "ralph_iter_end"]
    assert types == ["run_started"] + round_types * 5 + ["loop_done"]
    judged = events_of(session.run_dir, "judge_result")
    assert [e["score"] for e in judged] == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert [e["detail"]["cursor"] for e in judged] == [[0], [1], [0], [0, 0], None]
    assert all(e["violations"] == [] for e in judged)
    tree = read_tree_json(session.run_dir)
    assert tree["cursor"] is None
    assert [c["claim"] for c in tree["root"]["children"]] == ["cause A", "cause B"]
    state = (session.run_dir / "state.md").read_text()
    assert state.count("--- round ") == 5 and "A: BRANCH:cause B" in state


def test_passed_outcome(runs_root):
    session = Drill.start("root claim", run_id="p")
    answer_all(session, ["a", "b", "c", "BEDROCK:stated-value"])
    outcome = json.loads((session.run_dir / "outcome.json").read_text())
    assert outcome["status"] == "passed" and outcome["rounds"] == 4
    assert outcome["final_score"] == 1.0 and outcome["violations_total"] == {}
    assert load_run(session.run_dir).status == "passed"


def test_bedrock_on_the_seed_passes_with_shallow_bedrock():
    session = Drill.start("root claim")
    result = session.answer("BEDROCK:stated-value")
    assert result.status == "passed" and result.verdict.violations == ["shallow-bedrock"]
    outcome = json.loads((session.run_dir / "outcome.json").read_text())
    assert outcome["violations_total"] == {"shallow-bedrock": 1}


def test_stop_aborts_and_leaves_the_tree():
    session = Drill.start("root claim")
    session.answer("a")
    before = read_tree_json(session.run_dir)
    result = session.answer("STOP")
    assert result.status == "aborted" and session.status == "aborted"
    assert read_tree_json(session.run_dir) == before
    assert events_of(session.run_dir, "loop_aborted")[0]["status"] == "aborted"


def test_rejected_answers_are_recorded_rounds_with_violations():
    session = Drill.start("root claim")
    with pytest.raises(RejectedAnswer, match="stated-value, constraint"):
        session.answer("BEDROCK:nonsense")
    with pytest.raises(RejectedAnswer, match="root"):
        session.answer("BRANCH:elsewhere")
    assert session.rounds == 2 and session.tree.cursor == ()
    judged = events_of(session.run_dir, "judge_result")
    assert [e["violations"] for e in judged] == [["invalid-bedrock-category"], ["branch-at-root"]]
    assert read_tree_json(session.run_dir)["root"]["children"] == []
    session.close()


@pytest.mark.parametrize("bad", ["", "   ", "BRANCH:"])
def test_empty_answers_change_nothing(bad):
    session = Drill.start("root claim")
    session.answer("a")
    question = session.ask().text  # the question is on record before the answer
    before = (session.run_dir / "events.jsonl").read_text()
    with pytest.raises(InputError, match="empty"):
        session.answer(bad)
    assert (session.run_dir / "events.jsonl").read_text() == before
    assert session.rounds == 1 and session.question == question
    session.close()


def test_answering_a_finished_drill_is_refused():
    session = Drill.start("root claim")
    session.answer("BEDROCK:identity")
    before = (session.run_dir / "events.jsonl").read_text()
    with pytest.raises(InputError, match="finished: no open leaves"):
        session.answer("more")
    assert (session.run_dir / "events.jsonl").read_text() == before


def test_circular_answer_is_flagged():
    session = Drill.start("checkout is slow")
    result = session.answer("Checkout is slow.")
    assert "circular-answer" in result.verdict.violations
    assert session.circular_streak == 1
    session.answer("the CDN misses")
    assert session.circular_streak == 0
    session.close()


def test_hard_cap_ends_the_drill():
    session = Drill.start("root claim", hard_cap=3)
    answer_all(session, ["a", "b", "c"])
    assert session.ask() is None
    assert session.status == "hard_cap" and session.exit_reason == "reached hard cap of 3 rounds"
    with pytest.raises(InputError, match="has ended .hard_cap"):
        session.answer("d")
    assert json.loads((session.run_dir / "outcome.json").read_text())["status"] == "hard_cap"


def test_wall_clock_budget_is_checked_every_round():
    now = [0.0]
    session = Drill.start("root claim", budget=Budget(max_seconds=10),
                                 clock=lambda: now[0])
    session.answer("a")
    now[0] = 11.0
    assert session.ask() is None
    assert session.status == "budget_exhausted"
    [ended] = events_of(session.run_dir, "budget_exhausted")  # said once, with its round
    assert ended["reason"].startswith("wall-clock budget of 10 s") and ended["round"] == 1
    assert json.loads((session.run_dir / "outcome.json").read_text())["status"] == \
        "budget_exhausted"


def test_bad_settings_create_no_run(runs_root):
    with pytest.raises(InputError, match="--hard-cap must be a positive number"):
        Drill.start("root claim", hard_cap=0)
    with pytest.raises(InputError, match="seed has no claim"):
        Drill.start(seed="# just a heading\n")
    with pytest.raises(InputError, match="unknown questioner"):
        Drill.start("root claim", questioner="oracle")
    with pytest.raises(InputError, match="claim to drill or a seed"):
        Drill.start()
    assert not (runs_root / "deeper").exists() or not any((runs_root / "deeper").iterdir())


def test_a_used_run_id_is_refused():
    Drill.start("root claim", run_id="same").close()
    with pytest.raises(InputError, match="already exists"):
        Drill.start("other", run_id="same")


def test_closing_an_unfinished_drill_pauses_it():
    with Drill.start("root claim") as session:
        session.answer("a")
    outcome = json.loads((session.run_dir / "outcome.json").read_text())
    assert outcome["status"] == "paused" and "resume" in outcome["exit_reason"]


def test_the_session_displays_itself():
    session = Drill.start("root claim")
    session.answer("a <b>")
    html = session._repr_html_()
    assert 'title="depth 1">d1</span>' in html and "a &lt;b&gt;" in html and "CURSOR" in html

    class Printer:
        text_out = ""

        def text(self, value):
            self.text_out += value
    printer = Printer()
    session._repr_pretty_(printer, False)
    assert "## Tree" in printer.text_out and "in progress" in printer.text_out
    session.close()
