import json

import pytest

from tests.helpers import make_node
from deeploop.budget import Budget
from deeploop.errors import InputError, ModelError
from deeploop.events import read_events
from deeploop.nodeloop.loop import build_prompt, run_node
from deeploop.models import get_model
from deeploop.models.base import Completion
from deeploop.usage import Usage
from deeploop.models.scripted import ScriptedModel
from deeploop.nodes import find_node, load_node


def outcome(run_dir):
    return json.loads((run_dir / "outcome.json").read_text())


def test_prompt_layout_matches_the_reference_harness():
    prompt = build_prompt("Do X.\n", "", "the seed", "", 1)
    assert prompt == ("Do X.\n\n## Accumulated lessons (BANS.md)\n(none yet)\n\n"
                      "## Seed (locked input)\nthe seed\n\n## State so far (round 1)\n")
    prompt = build_prompt("Do X.", "- `k` — why\n", "s\n", "\n--- round 1 ---\nout\n", 2)
    assert "## Accumulated lessons (BANS.md)\n- `k` — why\n\n## Seed" in prompt
    assert prompt.endswith("## State so far (round 2)\n\n--- round 1 ---\nout\n")


def test_commit_msg_run_with_no_lessons_hits_the_hard_cap(commit_node, runs_root):
    node = find_node("commit-msg")
    result = run_node(node, "seed", get_model("mock:commit-msg"), budget=Budget(max_rounds=3))
    o = outcome(result.run_dir)
    assert o["status"] == "hard_cap" and o["rounds"] == 3 and o["final_score"] == 0.25
    assert o["exit_reason"] == "reached hard cap of 3 rounds"
    assert o["violations_total"] == {"no-conv-format": 3, "length": 3, "trailing-period": 3}
    events = read_events(result.run_dir / "events.jsonl").events
    assert [e["type"] for e in events] == ["run_started"] + [
        "ralph_iter_start", "agent_output", "judge_result", "ralph_iter_end"] * 3
    assert events[4]["reason"] == "judge_score=0.25" and events[4]["done"] is False
    assert events[0]["budget"]["max_rounds"] == 3 and events[0]["budget"]["max_usd"] == 10.0
    assert [e["state_bytes"] for e in events if e["type"] == "ralph_iter_start"][0] == 0
    state = (result.run_dir / "state.md").read_text()
    assert state.startswith("\n--- round 1 ---\nThis commit adds") and "--- round 3 ---" in state
    assert (result.run_dir / "seed.md").read_text() == "seed"
    assert result.run_dir.parent == runs_root / "commit-msg"


def test_passes_when_score_reaches_threshold_without_violations(commit_node):
    (commit_node / "BANS.md").write_text(
        "".join(f"- `{k}` — x\n" for k in ["no-conv-format", "length", "verb-tense",
                                          "trailing-period"]))
    result = run_node(find_node("commit-msg"), "seed", get_model("mock:commit-msg"))
    o = outcome(result.run_dir)
    assert (o["status"], o["rounds"], o["final_score"]) == ("passed", 1, 1.0)
    assert o["exit_reason"] == "judge_score=1.0 >= 0.9"


def test_blocked_output_aborts_after_judging(commit_node):
    model = ScriptedModel(["thinking\nBLOCKED: the seed describes no change"])
    result = run_node(find_node("commit-msg"), "seed", model)
    o = outcome(result.run_dir)
    assert o["status"] == "aborted" and o["exit_reason"] == "model emitted BLOCKED"
    assert o["final_score"] is not None
    assert read_events(result.run_dir / "events.jsonl").last("judge_result")


def test_judge_error_in_round_one_fails_with_null_score(nodes_dir):
    make_node(nodes_dir, "bad", judge_py="def judge(output, ctx):\n    raise RuntimeError('x')\n")
    result = run_node(find_node("bad"), "seed", ScriptedModel(["out"]))
    o = outcome(result.run_dir)
    assert o["status"] == "failed" and o["final_score"] is None
    assert o["exit_reason"].startswith("judge failed:")


def test_judge_error_later_keeps_last_score(nodes_dir):
    make_node(nodes_dir, "late", judge_py=(
        "def judge(output, ctx):\n    if ctx.round == 2:\n        raise RuntimeError('x')\n"
        "    return 0.5, ['meh'], {}\n"))
    o = outcome(run_node(find_node("late"), "seed", ScriptedModel(["a"])).run_dir)
    assert (o["status"], o["rounds"], o["final_score"]) == ("failed", 2, 0.5)


class Raising:
    spec = "test:raising"

    def __init__(self, exc):
        self.exc = exc

    def complete(self, prompt, **kw):
        raise self.exc


def test_model_failure_ends_the_run_failed_with_the_reason(commit_node):
    result = run_node(find_node("commit-msg"), "seed", Raising(ModelError("quota gone")))
    o = outcome(result.run_dir)
    assert o["status"] == "failed" and o["exit_reason"] == "model failed: quota gone"


def test_ctrl_c_writes_an_aborted_outcome(commit_node, runs_root):
    with pytest.raises(KeyboardInterrupt):
        run_node(find_node("commit-msg"), "seed", Raising(KeyboardInterrupt()))
    (run_dir,) = (runs_root / "commit-msg").iterdir()
    o = outcome(run_dir)
    assert o["status"] == "aborted" and o["exit_reason"] == "interrupted"


class Costly:
    spec = "test:costly"

    def complete(self, prompt, **kw):
        return Completion("feat: Added x", Usage(1000, 100, 0.6, 1))


def test_budgets_stop_the_loop_and_are_recorded(commit_node):
    node = find_node("commit-msg")
    o = outcome(run_node(node, "s", Costly(), budget=Budget(max_rounds=10, max_usd=1.0)).run_dir)
    assert o["status"] == "budget_exhausted" and o["rounds"] == 2
    assert "dollar budget of $1 exhausted" in o["exit_reason"]
    assert o["usage"] == {"input_tokens": 2000, "output_tokens": 200, "usd": 1.2, "calls": 2}
    ticks = iter(range(0, 1000, 10))
    result = run_node(node, "s", Costly(), budget=Budget(max_rounds=10, max_seconds=25),
                      clock=lambda: next(ticks))
    o = outcome(result.run_dir)
    assert o["status"] == "budget_exhausted" and "wall-clock" in o["exit_reason"]
    events = read_events(result.run_dir / "events.jsonl")
    assert events.last("budget_exhausted")["reason"] == o["exit_reason"]
    assert events.of_type("agent_output")[0]["usage"]["usd"] == 0.6


def test_empty_seed_is_refused_before_anything_is_created(commit_node, runs_root):
    with pytest.raises(InputError, match="seed is empty"):
        run_node(find_node("commit-msg"), "  \n", get_model("mock:commit-msg"))
    assert not (runs_root / "commit-msg").exists()


def test_node_settings_come_from_node_toml(nodes_dir):
    make_node(nodes_dir, "t", judge_py="def judge(o, c):\n    return 0.95, [], {}\n",
              toml="hard_cap = 4\ndone_threshold = 0.95\ndefault_model = 'mock:commit-msg'\n")
    node = find_node("t")
    assert (node.hard_cap, node.done_threshold, node.default_model) == (4, 0.95, "mock:commit-msg")
    assert outcome(run_node(node, "s", ScriptedModel(["x"])).run_dir)["status"] == "passed"


@pytest.mark.parametrize("files, message", [
    ({"judge.py": "def judge(o, c): return 1, [], {}\n"}, "has no PROMPT.md"),
    ({"PROMPT.md": "p"}, "has no judge"),
    ({"PROMPT.md": "p", "judge.py": "", "node.toml": "hard_cap = -1"}, "hard_cap"),
    ({"PROMPT.md": "p", "judge.py": "", "node.toml": "hard_cap = [nope"}, "not valid TOML"),
])
def test_broken_nodes_are_refused(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=message):
        load_node(tmp_path, "broken")


def test_a_reference_style_judge_sh_node_plugs_in_unchanged(nodes_dir):
    from tests.test_judges import SHELL_JUDGE
    make_node(nodes_dir, "shell", judge_sh=SHELL_JUDGE)
    result = run_node(find_node("shell"), "seed", ScriptedModel(["vague", "good"]))
    o = outcome(result.run_dir)
    assert (o["status"], o["rounds"], o["final_score"]) == ("passed", 2, 1.0)
    assert o["violations_total"] == {"too-vague": 1}
    types = [e["type"] for e in read_events(result.run_dir / "events.jsonl").events]
    assert types.count("judge_result") == 2


class StopAfter:
    """A model that answers each round and drops STOP in the run folder during round ``n``."""

    spec = "mock:stop"

    def __init__(self, n: int):
        self.n, self.calls = n, 0

    def complete(self, prompt, run_dir=None, **context):
        self.calls += 1
        if self.calls == self.n:
            (run_dir / "STOP").write_text("")
        return Completion(f"answer {self.calls}", Usage())


def test_a_stop_file_ends_the_run_after_the_round_in_flight(commit_node):
    result = run_node(find_node("commit-msg"), "seed", StopAfter(2), budget=Budget(max_rounds=5))
    o = outcome(result.run_dir)
    assert (o["status"], o["rounds"], o["resumable"]) == ("paused", 2, True)
    assert o["exit_reason"] == "stopped by STOP file after round 2"
    assert result.stopped == "STOP file" and not (result.run_dir / "STOP").exists()
    state = (result.run_dir / "state.md").read_text()
    assert "--- round 2 ---\nanswer 2" in state and "round 3" not in state  # nothing lost
    events = read_events(result.run_dir / "events.jsonl").events
    assert [e["type"] for e in events][-2:] == ["ralph_iter_end", "stop_requested"]
    assert events[-1]["after_round"] == 2 and events[-1]["source"] == "STOP file"


class SetAfter:
    """A model that answers each round and sets ``event`` during round ``n`` (a Stop button)."""

    spec = "mock:stop-event"

    def __init__(self, n: int, event):
        self.n, self.event, self.calls = n, event, 0

    def complete(self, prompt, **context):
        self.calls += 1
        if self.calls == self.n:
            self.event.set()
        return Completion(f"answer {self.calls}", Usage())


def test_a_stop_event_ends_the_run_after_the_round_in_flight_as_a_stop_file_does(commit_node):
    import threading
    event = threading.Event()
    model = SetAfter(3, event)
    result = run_node(find_node("commit-msg"), "seed", model, budget=Budget(max_rounds=6),
                      stop=event)
    o = outcome(result.run_dir)
    assert (o["status"], o["rounds"], model.calls) == ("paused", 3, 3)
    assert o["exit_reason"] == "stopped by stop event after round 3"
    assert result.stopped == "stop event" and event.is_set()  # the event is the caller's
    events = read_events(result.run_dir / "events.jsonl").events
    assert [e["type"] for e in events][-2:] == ["ralph_iter_end", "stop_requested"]
    assert (events[-1]["source"], events[-1]["after_round"], events[-1]["round"]) == \
        ("stop event", 3, 3)


def test_a_stop_asked_before_the_first_round_plays_none(commit_node):
    import threading
    event = threading.Event()
    event.set()
    model = SetAfter(0, event)
    result = run_node(find_node("commit-msg"), "seed", model, stop=event)
    o = outcome(result.run_dir)
    assert (o["status"], o["rounds"], model.calls) == ("paused", 0, 0)
    stopped = read_events(result.run_dir / "events.jsonl").last("stop_requested")
    assert stopped["after_round"] == 0 and "round" not in stopped


def test_a_limit_ends_the_run_before_a_stop_is_asked_and_leaves_the_stop_file(commit_node):
    model = StopAfter(2)  # STOP dropped in the last round the cap allows
    result = run_node(find_node("commit-msg"), "seed", model, budget=Budget(max_rounds=2))
    o = outcome(result.run_dir)
    assert (o["status"], o["rounds"]) == ("hard_cap", 2)
    assert result.stopped is None and (result.run_dir / "STOP").exists()


def test_a_budget_without_a_round_cap_is_never_capped_but_other_limits_stay_finite():
    from deeploop.budget import Spend, cap_reached
    budget = Budget(max_rounds=None)
    spend = Spend(clock=lambda: 0.0)
    spend.rounds = 10**12
    assert not cap_reached(budget, spend) and budget.max_seconds > 0
    assert cap_reached(Budget(max_rounds=3), spend)
    with pytest.raises(InputError, match="--max-seconds must be a positive number"):
        Budget(max_rounds=None, max_seconds=None)


def test_an_unexpected_error_ends_the_run_failed_naming_it_not_at_the_hard_cap(
        commit_node, runs_root, monkeypatch):
    def broken(*args):
        raise RuntimeError("prompt builder broke")
    monkeypatch.setattr("deeploop.nodeloop.loop.build_prompt", broken)
    with pytest.raises(RuntimeError):
        run_node(find_node("commit-msg"), "seed", get_model("mock:commit-msg"))
    [run_dir] = list((runs_root / "commit-msg").iterdir())
    o = outcome(run_dir)
    assert (o["status"], o["exit_reason"]) == ("failed", "RuntimeError: prompt builder broke")



def test_node_steps_yields_a_two_round_runs_events_as_journaled(commit_node):
    from deeploop.harness import drive
    from deeploop.nodeloop.loop import node_steps
    steps = node_steps(find_node("commit-msg"), "seed", get_model("mock:commit-msg"),
                       budget=Budget(max_rounds=2))
    seen = []
    result = drive(steps, [seen.append])
    assert [s["type"] for s in seen] == ["run_started"] + [
        "ralph_iter_start", "agent_output", "judge_result", "ralph_iter_end"] * 2
    assert [s.get("round") for s in seen[1:]] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert seen == read_events(result.run_dir / "events.jsonl").events
    assert (result.outcome.status, result.outcome.rounds) == ("hard_cap", 2)


def test_closing_node_steps_mid_run_ends_it_aborted_like_ctrl_c(commit_node, runs_root):
    from deeploop.nodeloop.loop import node_steps
    model = StopAfter(99)  # answers every round; counts the calls
    steps = node_steps(find_node("commit-msg"), "seed", model, budget=Budget(max_rounds=5))
    for step in steps:
        if step["type"] == "agent_output":  # round 1 played, not judged yet
            break
    steps.close()
    [run_dir] = list((runs_root / "commit-msg").iterdir())
    o = outcome(run_dir)
    assert (o["status"], o["exit_reason"], o["rounds"]) == ("aborted", "interrupted", 1)
    assert o["resumable"] is True  # interrupted, not ended: --resume replays round 1
    assert model.calls == 1 and not (run_dir / "running.json").exists()


def test_node_steps_refuses_bad_input_before_the_first_step(commit_node, runs_root):
    from deeploop.nodeloop.loop import node_steps
    with pytest.raises(InputError, match="seed is empty"):
        node_steps(find_node("commit-msg"), " ", get_model("mock:commit-msg"))
    assert not (runs_root / "commit-msg").exists()
