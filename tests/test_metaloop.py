import json
import os

import pytest

from deeploop.budget import Budget
from deeploop.errors import InputError
from deeploop.lessons import lesson_keys
from deeploop.nodeloop.loop import run_node
from deeploop.nodeloop.metaloop import run_meta_loop
from deeploop.models import get_model
from deeploop.nodes import find_node


def test_commit_msg_meta_loop_climbs_from_025_to_1(commit_node, seed_file):
    """The trajectory that proves the loop (issue 2)."""
    printed = []
    node = find_node("commit-msg")
    result = run_meta_loop(node, seed_file.read_text(), lambda: get_model("mock:commit-msg"),
                           runs=6, feedback_every=1, budget=Budget(max_rounds=3),
                           out=printed.append)
    outcomes = [r.outcome for r in result.runs]
    assert [o.status for o in outcomes] == ["hard_cap"] * 4 + ["passed"] * 2
    assert [o.rounds for o in outcomes] == [3, 3, 3, 3, 1, 1]
    assert [o.final_score for o in outcomes] == [0.25, 0.25, 0.75, 0.75, 1.0, 1.0]
    promoted = [[p.key for p in report.promoted] for report in result.feedback]
    assert promoted == [[], ["length", "no-conv-format", "trailing-period"], [],
                        ["verb-tense"], [], []]
    assert lesson_keys(result.bans) == ["length", "no-conv-format", "trailing-period",
                                        "verb-tense"]
    text = "\n".join(printed)
    assert "  -> hard_cap in 3 rounds (score=0.25)" in text
    assert "  -> passed in 1 rounds (score=1.0)" in text
    assert text.rstrip().endswith("-----")


def test_unwritable_bans_is_refused_before_any_run(commit_node, seed_file, runs_root,
                                                   monkeypatch):
    monkeypatch.setattr("deeploop.lessons.os.access",
                        lambda path, mode: os.path.basename(path) != "BANS.md")
    with pytest.raises(InputError, match="cannot write .*BANS.md: it is read-only"):
        run_meta_loop(find_node("commit-msg"), "seed", lambda: get_model("mock:commit-msg"),
                      runs=2, out=lambda line: None)
    assert not (runs_root / "commit-msg").exists()


def test_a_stop_file_in_a_run_folder_ends_the_meta_loop_after_that_run(commit_node, seed_file):
    from tests.test_loop import StopAfter
    printed = []
    models = iter([get_model("mock:commit-msg"), StopAfter(1), get_model("mock:commit-msg")])
    result = run_meta_loop(find_node("commit-msg"), seed_file.read_text(), lambda: next(models),
                           runs=3, budget=Budget(max_rounds=3), out=printed.append)
    assert [o.outcome.status for o in result.runs] == ["hard_cap", "paused"]
    assert len(result.feedback) == 2  # the stopped run's feedback is not lost
    assert "meta-loop: stopped by STOP file in" in "\n".join(printed)


def test_a_stop_file_in_the_node_runs_folder_ends_the_meta_loop_between_runs(
        commit_node, seed_file, runs_root):
    calls = []

    def factory():
        calls.append(1)
        if len(calls) == 2:  # while run 2 goes on, a person asks the meta-loop to stop
            (runs_root / "commit-msg" / "STOP").write_text("")
        return get_model("mock:commit-msg")
    result = run_meta_loop(find_node("commit-msg"), seed_file.read_text(), factory, runs=4,
                           budget=Budget(max_rounds=3), out=lambda line: None)
    assert [o.outcome.status for o in result.runs] == ["hard_cap", "hard_cap"]
    assert not (runs_root / "commit-msg" / "STOP").exists()


def test_a_stop_event_ends_the_run_in_flight_and_the_meta_loop_after_it(commit_node, seed_file):
    import threading
    from tests.test_loop import SetAfter
    event, printed = threading.Event(), []
    models = iter([get_model("mock:commit-msg"), SetAfter(2, event)])
    result = run_meta_loop(find_node("commit-msg"), seed_file.read_text(), lambda: next(models),
                           runs=4, budget=Budget(max_rounds=3), out=printed.append, stop=event)
    assert [(r.outcome.status, r.outcome.rounds) for r in result.runs] == [("hard_cap", 3),
                                                                           ("paused", 2)]
    assert result.runs[1].outcome.exit_reason == "stopped by stop event after round 2"
    paused = result.runs[1].run_dir
    assert (f"  -> paused in 2 rounds (score=0.75); finish it with: deeploop loop commit-msg "
            f"--resume {paused.name}") in printed
    finished = run_node(find_node("commit-msg"), None, get_model("mock:commit-msg"),
                        resume=paused.name)  # the paused run, finished on its own
    assert (finished.outcome.status, finished.outcome.rounds) == ("hard_cap", 3)
    assert len(result.feedback) == 2
    assert "\nmeta-loop: stopped by stop event after run 2" in printed


def test_a_stop_event_set_between_runs_starts_no_other(commit_node, seed_file, runs_root):
    import threading
    from deeploop.harness import drive, on
    from deeploop.nodeloop.metaloop import meta_loop_steps
    event, stopped = threading.Event(), []
    steps = meta_loop_steps(find_node("commit-msg"), seed_file.read_text(),
                            lambda: get_model("mock:commit-msg"), runs=3,
                            budget=Budget(max_rounds=2), stop=event)
    result = drive(steps, [on("meta_run_ended", lambda step: event.set()),
                           on("meta_loop_stopped", stopped.append)])
    assert [r.outcome.status for r in result.runs] == ["hard_cap"]  # run 1 played to its end
    assert [(s["source"], s["after_run"], s["where"]) for s in stopped] == [("stop event", 1,
                                                                             None)]
    assert len(list((runs_root / "commit-msg").iterdir())) == 1


def test_a_stop_file_dropped_in_a_runs_last_round_still_ends_the_meta_loop(commit_node,
                                                                           seed_file):
    from tests.test_loop import StopAfter
    printed = []
    models = iter([StopAfter(2), get_model("mock:commit-msg")])
    result = run_meta_loop(find_node("commit-msg"), seed_file.read_text(), lambda: next(models),
                           runs=2, budget=Budget(max_rounds=2), out=printed.append)
    [run] = result.runs
    assert (run.outcome.status, run.outcome.rounds) == ("hard_cap", 2)  # the cap ended the run
    assert not (run.run_dir / "STOP").exists()
    assert f"meta-loop: stopped by STOP file in {run.run_dir} after run 1" in "\n".join(printed)


def test_meta_loop_steps_yield_its_own_records_around_each_runs_events(commit_node, seed_file):
    from deeploop.harness import drive
    from deeploop.nodeloop.metaloop import meta_loop_steps
    seen = []
    result = drive(meta_loop_steps(find_node("commit-msg"), seed_file.read_text(),
                                   lambda: get_model("mock:commit-msg"), runs=2,
                                   feedback_every=2, budget=Budget(max_rounds=2)), [seen.append])
    kinds = [s["type"] for s in seen]
    run = ["meta_run_started", "run_started"] + ["ralph_iter_start", "agent_output",
                                                 "judge_result", "ralph_iter_end"] * 2 + [
        "meta_run_ended"]
    assert kinds == ["meta_loop_started"] + run + run + ["feedback", "meta_loop_done"]
    ended = [s for s in seen if s["type"] == "meta_run_ended"]
    assert [(s["run"], s["status"], s["rounds"]) for s in ended] == [(1, "hard_cap", 2),
                                                                     (2, "hard_cap", 2)]
    assert [p.key for p in seen[-2]["report"].promoted] == [
        "length", "no-conv-format", "trailing-period"]
    assert seen[-1]["bans"] == result.bans and len(result.runs) == 2


def test_closing_meta_loop_steps_mid_run_aborts_that_run_and_starts_no_other(
        commit_node, seed_file, runs_root):
    from deeploop.nodeloop.metaloop import meta_loop_steps
    steps = meta_loop_steps(find_node("commit-msg"), seed_file.read_text(),
                            lambda: get_model("mock:commit-msg"), runs=3,
                            budget=Budget(max_rounds=3))
    for step in steps:
        if step["type"] == "ralph_iter_end":  # round 1 of run 1 judged
            break
    steps.close()
    [run_dir] = list((runs_root / "commit-msg").iterdir())
    o = json.loads((run_dir / "outcome.json").read_text())
    assert (o["status"], o["exit_reason"], o["rounds"]) == ("aborted", "interrupted", 1)


def test_meta_loop_steps_refuse_bad_counts_before_the_first_step(commit_node):
    from deeploop.nodeloop.metaloop import meta_loop_steps
    with pytest.raises(InputError, match="--runs and --feedback-every"):
        meta_loop_steps(find_node("commit-msg"), "seed", lambda: None, runs=0)
