"""Unattended drills: a model or a file answers every round until the drill ends."""
import json

import pytest

from deeploop.drill import Drill, run_drill
from deeploop.drill.answerers import ListAnswers, ModelAnswerer, file_answers, model_answer_text
from deeploop.drill.replies import EmptyReply
from deeploop.models.base import Completion
from deeploop.usage import Usage
from .drill_helpers import events_of, read_tree_json


class Script:
    """A model answering from a list (then repeating the last), counting its calls."""

    def __init__(self, *outputs, spec="mock:script"):
        self.outputs, self.spec, self.prompts = list(outputs), spec, []

    def complete(self, prompt, **context):
        self.prompts.append(prompt)
        text = self.outputs[min(len(self.prompts), len(self.outputs)) - 1]
        return Completion(text, Usage(50, 10, 0.01, 1))


def test_a_model_answers_until_bedrock():
    model = Script("because the cache is cold\n\n(a second paragraph the claim drops)",
                   "because deploys flush it", "BEDROCK:constraint — the CDN contract says so")
    session = Drill.start("checkout is slow")
    assert run_drill(session, ModelAnswerer(model)) == "passed"
    tree = read_tree_json(session.run_dir)
    first = tree["root"]["children"][0]
    assert first["claim"] == "because the cache is cold" and first["tag"] == "from-model"
    marker = first["children"][0]["children"][0]
    assert marker["bedrock"] == "constraint" and marker["rationale"] == "the CDN contract says so"
    assert "1. checkout is slow" in model.prompts[1] and "## QUESTION" in model.prompts[1]
    outcome = json.loads((session.run_dir / "outcome.json").read_text())
    assert outcome["usage"]["calls"] == 3 and outcome["usage"]["usd"] == pytest.approx(0.03)


def test_three_circular_answers_in_a_row_spin():
    session = Drill.start("checkout is slow")
    status = run_drill(session, ModelAnswerer(Script("Checkout is slow!")))
    assert status == "spinning" and session.rounds == 3
    assert "3 circular answers in a row" in session.exit_reason
    assert [e["violations"] for e in events_of(session.run_dir, "judge_result")] == \
        [["circular-answer"]] * 3
    assert events_of(session.run_dir, "loop_aborted")[0]["status"] == "spinning"


def test_a_person_repeating_themselves_is_flagged_but_not_stopped():
    session = Drill.start("checkout is slow")
    for _ in range(4):
        session.answer("checkout is slow")
    assert not session.finished and session.circular_streak == 4
    session.close()


class Silent:
    spec = "mock:silent"

    def __init__(self, then=None):
        self.calls, self.then = 0, then

    def complete(self, prompt, **context):
        self.calls += 1
        return Completion(self.then if self.then and self.calls > 1 else "  ")


def test_a_model_that_returns_nothing_is_retried_once_then_fails():
    model = Silent()
    session = Drill.start("root claim")
    assert run_drill(session, ModelAnswerer(model)) == "failed"
    assert model.calls == 2 and session.rounds == 0
    assert session.exit_reason == ("model failed twice in round 1: "
                                   "answerer mock:silent returned nothing")
    assert read_tree_json(session.run_dir)["root"]["children"] == []


def test_one_empty_reply_is_forgiven():
    session = Drill.start("root claim", hard_cap=1)
    assert run_drill(session, ModelAnswerer(Silent(then="because Y"))) == "hard_cap"
    assert read_tree_json(session.run_dir)["root"]["children"][0]["claim"] == "because Y"


def test_a_questioner_that_returns_nothing_ends_the_run():
    from deeploop.drill.node import load_deeper
    from deeploop.drill.questioner import ModelQuestioner
    session = Drill.start("root claim", questioner=ModelQuestioner(Silent(), load_deeper()))
    assert run_drill(session, ListAnswers(["a"])) == "failed"
    assert "questioner failed twice in round 1" in session.exit_reason


def test_unusable_answers_twice_fail_the_run():
    session = Drill.start("root claim")
    assert run_drill(session, ModelAnswerer(Script("BRANCH:"))) == "failed"
    assert "unusable answers twice" in session.exit_reason and session.rounds == 0


def test_rejected_answers_count_as_rounds_and_the_drill_goes_on():
    seen = []
    session = Drill.start("root claim")
    answers = ListAnswers(["BEDROCK:nonsense", "a", "BEDROCK:identity"])
    assert run_drill(session, answers, on_round=seen.append) == "passed"
    assert [r.outcome for r in seen] == ["rejected", "advanced", "bedrock"]
    assert seen[0].verdict.violations == ["invalid-bedrock-category"]


def test_answers_running_out_pause_and_the_same_file_resumes(tmp_path):
    path = tmp_path / "answers.txt"
    path.write_text("cause A\n\nBRANCH:cause B\n")
    session = Drill.start("root claim", run_id="f")
    assert run_drill(session, file_answers(path)) == "paused"
    assert "answers ran out after round 2" in session.exit_reason
    path.write_text("cause A\n\nBRANCH:cause B\nBEDROCK:constraint\nrethink\n"
                    "BEDROCK:prior-decision\n")
    resumed = Drill.resume("f")
    answers = file_answers(path, start=resumed.answers_used[str(path.resolve())])
    assert run_drill(resumed, answers) == "passed"
    tree = read_tree_json(resumed.run_dir)
    assert [c["claim"] for c in tree["root"]["children"]] == ["cause A", "cause B"]
    assert [e["line"] for e in events_of(resumed.run_dir, "answer_emitted")] == [1, 2, 3, 4, 5]


def test_model_answer_text_keeps_keyword_lines_and_their_rationale():
    assert model_answer_text("Let me think.\nBEDROCK:empirical\nmeasured in May", "m") == \
        "BEDROCK:empirical\nmeasured in May"
    assert model_answer_text("first claim\nsecond thought", "m") == "first claim"
    assert model_answer_text("Bedrock is deep.\nbecause Y", "m") == "Bedrock is deep."
    with pytest.raises(EmptyReply):
        model_answer_text("\n \n", "m")


def test_a_stop_file_pauses_the_drill_after_the_round_in_flight_and_resume_goes_on():
    session = Drill.start("checkout is slow")
    model = Script("because the cache is cold", "because deploys flush it",
                   "BEDROCK:constraint — the CDN contract says so")
    answerer = ModelAnswerer(model)
    real = model.complete

    def complete(prompt, **context):  # a person touches STOP while round 2 is answered
        if len(model.prompts) == 1:
            (session.run_dir / "STOP").write_text("")
        return real(prompt, **context)
    model.complete = complete
    assert run_drill(session, answerer) == "paused" and session.rounds == 2
    assert session.exit_reason == "stopped by STOP file after round 2"
    assert not (session.run_dir / "STOP").exists()
    assert events_of(session.run_dir, "stop_requested")[0]["after_round"] == 2
    outcome = json.loads((session.run_dir / "outcome.json").read_text())
    assert (outcome["status"], outcome["rounds"]) == ("paused", 2)
    resumed = Drill.resume(session.run_id)
    assert resumed.rounds == 2  # nothing lost
    assert run_drill(resumed, ModelAnswerer(Script(
        "BEDROCK:constraint — the CDN contract says so"))) == "passed"


def test_the_stop_event_pauses_the_drill_after_the_round_in_flight():
    import threading
    stop = threading.Event()
    session = Drill.start("checkout is slow", stop=stop)
    model = Script("because the cache is cold", "because deploys flush it",
                   "BEDROCK:constraint — the CDN contract says so")
    real = model.complete

    def complete(prompt, **context):  # the Stop button is pressed while round 2 is answered
        if len(model.prompts) == 1:
            stop.set()
        return real(prompt, **context)
    model.complete = complete
    assert run_drill(session, ModelAnswerer(model)) == "paused" and session.rounds == 2
    assert session.exit_reason == "stopped by stop event after round 2"
    [asked] = events_of(session.run_dir, "stop_requested")
    assert (asked["source"], asked["round"], asked["after_round"]) == ("stop event", 2, 2)
    assert json.loads((session.run_dir / "outcome.json").read_text())["status"] == "paused"
    resumed = Drill.resume(session.run_id)  # a new session: no stop asked
    assert run_drill(resumed, ModelAnswerer(Script(
        "BEDROCK:constraint — the CDN contract says so"))) == "passed"


def test_a_limit_ends_the_drill_before_a_stop_is_asked_and_leaves_the_stop_file():
    session = Drill.start("checkout is slow", hard_cap=1)
    model = Script("because the cache is cold")
    real = model.complete

    def complete(prompt, **context):
        (session.run_dir / "STOP").write_text("")
        return real(prompt, **context)
    model.complete = complete
    assert run_drill(session, ModelAnswerer(model)) == "hard_cap"
    assert events_of(session.run_dir, "stop_requested") == []
    assert (session.run_dir / "STOP").exists()  # not consumed: it stops the resumed run


def test_drill_steps_yield_the_journaled_events_and_a_record_per_round():
    from deeploop.drill.unattended import drill_steps
    from deeploop.harness import drive
    session = Drill.start("root claim")
    seen = []
    assert drive(drill_steps(session, ListAnswers(["a", "BEDROCK:identity"])),
                 [seen.append]) == "passed"
    round_events = ["question_emitted", "answer_emitted", "judge_result", "ralph_iter_end"]
    assert [s["type"] for s in seen] == round_events + ["drill_round"] + round_events + [
        "loop_done", "drill_round"]
    rounds = [s for s in seen if s["type"] == "drill_round"]
    assert [(s["round"], s["outcome"], s["status"]) for s in rounds] == [
        (1, "advanced", None), (2, "bedrock", "passed")]
    journal = [e for e in events_of(session.run_dir) if e["type"] != "run_started"]
    assert [s for s in seen if s["type"] != "drill_round"] == journal
    assert session.log.listeners == []  # the generator's collector is gone


def test_closing_drill_steps_mid_run_leaves_the_session_whole_and_resumable():
    from deeploop.drill.unattended import drill_steps
    from deeploop.harness import drive
    session = Drill.start("root claim", run_id="half")
    steps = drill_steps(session, ListAnswers(["a", "b", "BEDROCK:identity"]))
    for step in steps:
        if step["type"] == "question_emitted" and step["round"] == 2:  # asked, not answered
            break
    steps.close()
    assert not session.finished and session.rounds == 1 and session.question is not None
    session.close()  # what the CLI does on Ctrl-C: recorded paused
    outcome = json.loads((session.run_dir / "outcome.json").read_text())
    assert (outcome["status"], outcome["rounds"]) == ("paused", 1)
    resumed = Drill.resume("half")
    assert drive(drill_steps(resumed, ListAnswers(["b", "BEDROCK:identity"]))) == "passed"
    assert resumed.rounds == 3


def test_a_call_the_purse_refuses_ends_the_drill_budget_exhausted_said_once():
    from deeploop.errors import BudgetRefused

    class Refused(Script):
        def complete(self, prompt, **context):
            raise BudgetRefused("one call could cost $0.01; $0.00 left")
    session = Drill.start("checkout is slow")
    assert run_drill(session, ModelAnswerer(Refused())) == "budget_exhausted"
    [ended] = events_of(session.run_dir, "budget_exhausted")
    assert ended["reason"] == session.exit_reason
    assert json.loads((session.run_dir / "outcome.json").read_text())["status"] == \
        "budget_exhausted"


def test_an_error_in_the_drill_or_a_listener_ends_it_failed_with_the_error():
    from deeploop.drill.unattended import drill_steps
    from deeploop.harness import drive

    class Broken:
        source = "broken"

        def answer(self, question, chain, round):
            raise RuntimeError("the answerer has a bug")
    session = Drill.start("root claim", run_id="bug")
    with pytest.raises(RuntimeError, match="has a bug"):
        drive(drill_steps(session, Broken()))
    outcome = json.loads((session.run_dir / "outcome.json").read_text())
    assert (outcome["status"], outcome["exit_reason"]) == (
        "failed", "RuntimeError: the answerer has a bug")
    assert events_of(session.run_dir, "loop_aborted")[0]["status"] == "failed"
    resumed = Drill.resume("bug")  # a failed drill is still resumable
    assert run_drill(resumed, ListAnswers(["BEDROCK:identity"])) == "passed"

    def display(step):
        if step["type"] == "judge_result":
            raise ValueError("the display broke")
    session = Drill.start("root claim")
    with pytest.raises(ValueError):
        drive(drill_steps(session, ListAnswers(["a", "b"])), [display])
    assert (session.status, session.rounds) == ("failed", 1)
    assert session.exit_reason == "ValueError: the display broke"
