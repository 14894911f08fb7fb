"""Resuming a node run: STOP then --resume, kill -9 mid-round then --resume,
and the refusals (a finished run, a missing one, a run another process holds)."""
import itertools
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from tests.helpers import PATIENCE, REPO, make_node, wait_until
from deeploop.budget import Budget
from deeploop.cli import main
from deeploop.errors import InputError, NotFound
from deeploop.events import read_events
from deeploop.harness import on
from deeploop.models import get_model
from deeploop.models.base import Completion
from deeploop.nodeloop.loop import run_node
from deeploop.nodeloop.resume import past_of
from deeploop.nodes import find_node
from deeploop.usage import Usage


def outcome(run_dir):
    return json.loads((run_dir / "outcome.json").read_text())


def events_of(run_dir):
    return read_events(run_dir / "events.jsonl").events


def rounds_of(run_dir, kind):
    return [e["round"] for e in events_of(run_dir) if e["type"] == kind]


class Costly:
    spec = "test:costly"

    def complete(self, prompt, **kw):
        return Completion("feat: Added x", Usage(1000, 100, 0.5, 1))


def paused_run(node, model, after: int, budget: Budget, clock=None):
    """A run stopped by the stop event set as round ``after`` closes."""
    event = threading.Event()
    listener = on("ralph_iter_end", lambda e: e["round"] == after and event.set())
    return run_node(node, "seed", model, budget=budget, stop=event, on_event=listener,
                    clock=clock)


def test_stop_then_resume_goes_on_from_the_next_round_with_its_spend_and_budgets(commit_node):
    node = find_node("commit-msg")
    first = paused_run(node, Costly(), 2, Budget(max_rounds=4, max_usd=100.0),
                       clock=itertools.count(0, 10).__next__)
    o = outcome(first.run_dir)
    assert (o["status"], o["rounds"], o["resumable"]) == ("paused", 2, True)
    assert first.stopped == "stop event"
    seconds_before = events_of(first.run_dir)[-2]["seconds"]  # the last ralph_iter_end's
    assert seconds_before > 0

    # no budget given: the resume keeps max_rounds=4 and max_usd=100 from run_started
    second = run_node(node, None, Costly(), resume=first.run_dir.name,
                      clock=itertools.count(0, 10).__next__)
    assert second.run_dir == first.run_dir
    o = outcome(second.run_dir)
    assert (o["status"], o["rounds"]) == ("hard_cap", 4)
    assert o["usage"] == {"input_tokens": 4000, "output_tokens": 400, "usd": 2.0, "calls": 4}
    assert o["violations_total"] == {"verb-tense": 4}  # two rounds before the pause, two after
    assert "resumable" not in o
    assert rounds_of(second.run_dir, "ralph_iter_start") == [1, 2, 3, 4]  # each once
    assert rounds_of(second.run_dir, "ralph_iter_end") == [1, 2, 3, 4]
    resumed = next(e for e in events_of(second.run_dir) if e["type"] == "run_resumed")
    assert (resumed["round"], resumed["replayed"], resumed["budget_from"]) == (2, None,
                                                                               "run_started")
    assert resumed["budget"]["max_usd"] == 100.0 and resumed["seconds"] == seconds_before
    starts = [e for e in events_of(second.run_dir) if e["type"] == "ralph_iter_start"]
    assert starts[2]["seconds"] >= seconds_before  # the wall clock goes on, not from 0
    state = (second.run_dir / "state.md").read_text()
    assert [state.count(f"--- round {n} ---") for n in (1, 2, 3, 4)] == [1, 1, 1, 1]


def test_a_resumed_run_counts_what_it_spent_against_its_budgets(commit_node):
    node = find_node("commit-msg")
    first = paused_run(node, Costly(), 2, Budget(max_rounds=10, max_usd=1.2))
    assert outcome(first.run_dir)["rounds"] == 2  # $1.00 of $1.20 spent
    o = outcome(run_node(node, None, Costly(), resume=first.run_dir.name).run_dir)
    assert (o["status"], o["rounds"]) == ("budget_exhausted", 3)  # not 2 more rounds
    assert "dollar budget of $1.2 exhausted ($1.5000 spent)" in o["exit_reason"]


def test_resuming_a_finished_run_is_refused_in_one_line_and_leaves_it_alone(
        commit_node, capsys):
    result = run_node(find_node("commit-msg"), "seed", get_model("mock:commit-msg"),
                      budget=Budget(max_rounds=2))
    before = (result.run_dir / "events.jsonl").read_text()
    code = main(["loop", "commit-msg", "--resume", result.run_dir.name])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"run {result.run_dir.name} already ended hard_cap" in err
    assert (result.run_dir / "events.jsonl").read_text() == before
    assert outcome(result.run_dir)["status"] == "hard_cap"
    with pytest.raises(NotFound, match="no run 'nope' of node commit-msg"):
        run_node(find_node("commit-msg"), None, None, resume="nope")
    with pytest.raises(InputError, match="keeps its seed and id"):
        run_node(find_node("commit-msg"), "seed", None, resume=result.run_dir.name)


def test_resume_refuses_other_budgets_than_the_run_started_with(commit_node, capsys):
    first = paused_run(find_node("commit-msg"), get_model("mock:commit-msg"), 1,
                       Budget(max_rounds=3))
    code = main(["loop", "commit-msg", "--resume", first.run_dir.name, "--hard-cap", "9"])
    err = capsys.readouterr().err
    assert code == 2 and "keeps the budgets it started with" in err
    code = main(["loop", "commit-msg", "--resume", first.run_dir.name])
    captured = capsys.readouterr()
    assert code == 0 and "hard_cap in 3 rounds" in captured.err
    assert captured.out.strip() == str(first.run_dir)


def test_a_run_from_before_budgets_were_recorded_takes_the_ones_given_and_says_so(
        commit_node, capsys):
    first = paused_run(find_node("commit-msg"), get_model("mock:commit-msg"), 1,
                       Budget(max_rounds=3))
    lines = (first.run_dir / "events.jsonl").read_text().splitlines()
    started = json.loads(lines[0])
    del started["budget"]
    (first.run_dir / "events.jsonl").write_text(
        "\n".join([json.dumps(started)] + lines[1:]) + "\n")
    code = main(["loop", "commit-msg", "--resume", first.run_dir.name, "--hard-cap", "2"])
    err = capsys.readouterr().err
    assert code == 0 and "recorded no budgets when it started: resuming with" in err
    assert outcome(first.run_dir)["rounds"] == 2


# hangs in round HANG_ROUND, inside the judge: after the round's output reached state.md
HANG_JUDGE = """import os, pathlib, time
def judge(output, ctx):
    if str(ctx.round) == os.environ.get("HANG_ROUND"):
        pathlib.Path(os.environ["HANG_MARK"]).write_text(str(os.getpid()))
        time.sleep(600)
    return 0.5, ["meh"], {}
"""


@pytest.fixture
def hang_node(nodes_dir, tmp_path):
    make_node(nodes_dir, "hang", judge_py=HANG_JUDGE,
              toml="hard_cap = 3\ndefault_model = 'mock:commit-msg'\n")
    seed = tmp_path / "seed.md"
    seed.write_text("a change\n")
    return seed


def start_hanging(tmp_path, round: int, *argv):
    """``python -m deeploop loop hang ARGV`` in a subprocess, hanging in ``round``'s judge."""
    mark = tmp_path / f"hang-{round}"
    env = dict(os.environ, PYTHONPATH=str(REPO), HANG_ROUND=str(round), HANG_MARK=str(mark))
    proc = subprocess.Popen([sys.executable, "-m", "deeploop", "loop", "hang", *argv],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: mark.exists() or proc.poll() is not None, "the run to reach its judge")
    except BaseException:
        proc.kill()
        raise
    assert proc.poll() is None, proc.communicate()
    return proc


def stop_process(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=PATIENCE)


def test_kill_9_mid_round_then_resume_plays_that_round_again(hang_node, runs_root, tmp_path,
                                                             capsys):
    proc = start_hanging(tmp_path, 2, "--seed", str(hang_node), "--run-id", "k")
    run_dir = runs_root / "hang" / "k"
    try:
        # the live run holds its lock: a resume now is refused, in one line
        assert main(["loop", "hang", "--resume", "k"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "in use by another process" in err
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        stop_process(proc)
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "outcome.json").exists()
    assert (run_dir / "state.md").read_text().count("--- round 2 ---") == 1  # the killed round's
    assert rounds_of(run_dir, "ralph_iter_start") == [1, 2]

    code = main(["loop", "hang", "--resume", "k"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "its last run stopped without finishing" in captured.err  # taken over
    o = outcome(run_dir)
    assert (o["status"], o["rounds"], o["violations_total"]) == ("hard_cap", 3, {"meh": 3})
    assert rounds_of(run_dir, "ralph_iter_start") == [1, 2, 2, 3]
    assert rounds_of(run_dir, "ralph_iter_end") == [1, 2, 3]
    assert rounds_of(run_dir, "agent_output") == [1, 2, 2, 3]  # round 2 asked again
    resumed = next(e for e in events_of(run_dir) if e["type"] == "run_resumed")
    assert resumed["replayed"] == 2 and resumed["trimmed_bytes"] > 0
    assert any(e["type"] == "run_stale" for e in events_of(run_dir))
    state = (run_dir / "state.md").read_text()
    assert [state.count(f"--- round {n} ---") for n in (1, 2, 3)] == [1, 1, 1]
    assert not (run_dir / "running.json").exists()


def test_two_resumes_at_once_one_is_refused(hang_node, runs_root, tmp_path, capsys):
    first = paused_run(find_node("hang"), get_model("mock:commit-msg"), 1, Budget(max_rounds=3))
    run_id = first.run_dir.name
    proc = start_hanging(tmp_path, 2, "--resume", run_id)
    try:
        code = main(["loop", "hang", "--resume", run_id])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert f"{run_id!r} is in use by another process" in err
        assert outcome(first.run_dir)["status"] == "paused"  # the refused one wrote nothing
    finally:
        stop_process(proc)
    assert rounds_of(first.run_dir, "run_resumed") == [1]


def test_past_of_rebuilds_progress_from_the_closed_rounds_only():
    events = [
        {"type": "run_started", "budget": {"max_rounds": 5}},
        {"type": "ralph_iter_start", "round": 1, "state_bytes": 0, "seconds": 0.5},
        {"type": "agent_output", "round": 1, "usage": {"input_tokens": 10, "usd": 0.1}},
        {"type": "judge_result", "round": 1, "score": 0.25, "violations": ["a", "b"]},
        {"type": "ralph_iter_end", "round": 1, "seconds": 2.0},
        {"type": "ralph_iter_start", "round": 2, "state_bytes": 40, "seconds": 2.5},
        {"type": "agent_output", "round": 2, "usage": {"input_tokens": 10, "usd": 0.1}},
        {"type": "judge_result", "round": 2, "score": 0.9, "violations": ["a"]},
    ]
    past = past_of(events)
    assert (past.rounds, past.final_score, dict(past.violations)) == (1, 0.25, {"a": 1, "b": 1})
    assert past.flight["round"] == 2 and past.flight["state_bytes"] == 40
    assert (past.usage.input_tokens, past.seconds, past.budget) == (20, 2.5, {"max_rounds": 5})


def test_cli_stop_file_pauses_and_resume_finishes_the_run(nodes_dir, tmp_path, runs_root,
                                                           capsys):
    make_node(nodes_dir, "stopper", toml="default_model = 'mock:commit-msg'\n", judge_py=(
        "def judge(output, ctx):\n"
        "    if ctx.round == 2:  # a person drops STOP while round 2 is judged\n"
        "        (ctx.run_dir / 'STOP').write_text('')\n"
        "    return 0.5, ['meh'], {}\n"))
    seed = tmp_path / "seed.md"
    seed.write_text("a change\n")
    code = main(["loop", "stopper", "--seed", str(seed), "--run-id", "s", "--hard-cap", "4",
                 "--no-report"])
    err = capsys.readouterr().err
    assert code == 0 and "paused in 2 rounds" in err
    assert "resume with: deeploop loop stopper --resume s" in err
    code = main(["loop", "stopper", "--resume", "s", "--no-report"])
    err = capsys.readouterr().err
    assert code == 0 and "hard_cap in 4 rounds (score=0.5)" in err
    run_dir = runs_root / "stopper" / "s"
    assert rounds_of(run_dir, "ralph_iter_start") == [1, 2, 3, 4]
    assert outcome(run_dir)["violations_total"] == {"meh": 4}
    code = main(["loop", "stopper", "--resume", "s", "--seed", str(seed)])
    assert code == 2 and "drop --seed and --run-id" in capsys.readouterr().err


def test_a_run_closed_mid_round_is_resumable_and_replays_that_round(commit_node, runs_root):
    from deeploop.nodeloop.loop import node_steps
    steps = node_steps(find_node("commit-msg"), "seed", get_model("mock:commit-msg"),
                       budget=Budget(max_rounds=2))
    for step in steps:
        if step["type"] == "agent_output":  # round 1 in state.md, not judged yet
            break
    steps.close()  # Ctrl-C in a notebook
    [run_dir] = list((runs_root / "commit-msg").iterdir())
    o = outcome(run_dir)
    assert (o["status"], o["exit_reason"], o["resumable"]) == ("aborted", "interrupted", True)
    assert "--- round 1 ---" in (run_dir / "state.md").read_text()
    result = run_node(find_node("commit-msg"), None, None, resume=run_dir.name)
    assert (result.outcome.status, result.outcome.rounds) == ("hard_cap", 2)
    assert rounds_of(run_dir, "agent_output") == [1, 1, 2]
    state = (run_dir / "state.md").read_text()
    assert [state.count(f"--- round {n} ---") for n in (1, 2)] == [1, 1]


# judge.sh: in round HANG_ROUND's first try it writes its verdict, then hangs (the kill
# lands between judge_result and ralph_iter_end); every other time it judges at once
JUDGE_THEN_HANG = """run="$1"; round="$2"
line() { printf '{"type":"judge_result","round":%s,"score":%s,"violations":[%s]}\\n' \\
    "$round" "$1" "$2" >> "$run/events.jsonl"; }
if [ "$round" = "$HANG_ROUND" ] && [ ! -e "$run/tried" ]; then
    touch "$run/tried"
    line 0.1 '"meh","first-try"'
    echo $$ > "$HANG_MARK"
    exec sleep 600
fi
line 0.5 '"meh"'
"""


def test_a_round_killed_after_its_verdict_counts_only_its_replays_verdict(
        nodes_dir, tmp_path, runs_root, capsys):
    from deeploop.lessons import read_run_violations
    from deeploop.runs import load_run
    from deeploop.summary import summarize, violation_counts
    make_node(nodes_dir, "hang", judge_sh=JUDGE_THEN_HANG,
              toml="hard_cap = 3\ndefault_model = 'mock:commit-msg'\n")
    seed = tmp_path / "seed.md"
    seed.write_text("a change\n")
    proc = start_hanging(tmp_path, 2, "--seed", str(seed), "--run-id", "v", "--no-report")
    judge_pid = int((tmp_path / "hang-2").read_text())
    try:
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        stop_process(proc)
        os.kill(judge_pid, signal.SIGKILL)
    run_dir = runs_root / "hang" / "v"
    assert rounds_of(run_dir, "judge_result") == [1, 2]  # round 2 judged, never closed
    assert rounds_of(run_dir, "ralph_iter_end") == [1]
    assert main(["loop", "hang", "--resume", "v", "--no-report"]) == 0, capsys.readouterr().err
    assert rounds_of(run_dir, "judge_result") == [1, 2, 2, 3]  # the replay judged round 2 again
    assert outcome(run_dir)["violations_total"] == {"meh": 3}

    record = load_run(run_dir)
    text = summarize(record)
    assert text.count("round 2:") == 1 and "round 2: 0.5" in text
    assert "first-try" not in text
    assert record.journal.judged() == [e for e in events_of(run_dir)
                                       if e["type"] == "judge_result" and e.get("score") == 0.5]
    assert read_run_violations(run_dir)[0].keys == {"meh"}  # what lessons promote from
    assert dict(past_of(events_of(run_dir)).violations) == {"meh": 3}
    from deeploop.notebook import views
    table = repr(views.violations_table(views.load(run_dir=str(run_dir))))
    assert "1, 2, 3" in table and "2, 2" not in table  # the rounds each rule was broken in
    (run_dir / "outcome.json").unlink()  # now show counts from the events
    assert violation_counts(load_run(run_dir)) == {"meh": 3}
    assert load_run(run_dir).final_score == 0.5


def test_judge_results_drops_a_verdict_from_before_the_round_started_again():
    from deeploop.events import judge_results
    events = [
        {"type": "ralph_iter_start", "round": 1},
        {"type": "judge_result", "round": 1, "score": 0.1},
        {"type": "ralph_iter_end", "round": 1},
        {"type": "ralph_iter_start", "round": 2},
        {"type": "judge_result", "round": 2, "score": 0.2},   # killed here
        {"type": "run_resumed", "round": 1, "replayed": 2},
        {"type": "ralph_iter_start", "round": 2},              # killed again before judging
        {"type": "run_resumed", "round": 1, "replayed": 2},
    ]
    assert [e["score"] for e in judge_results(events)] == [0.1]
    events.append({"type": "judge_result", "round": 2, "score": 0.3})
    events.append({"type": "judge_result", "score": 0.9})  # no round: kept as it is
    assert [e["score"] for e in judge_results(events)] == [0.1, 0.3, 0.9]


def test_a_shell_judge_silent_on_a_replayed_round_does_not_reuse_the_killed_tries_verdict(
        tmp_path):
    from deeploop.errors import JudgeError
    from deeploop.events import EventLog
    from deeploop.judges import JudgeContext, ShellJudge
    log = EventLog(tmp_path / "events.jsonl", "r", "n")
    log.emit("ralph_iter_start", 2)
    log.emit("judge_result", 2, score=0.9, violations=[])  # then the kill
    log.emit("run_resumed", 1, replayed=2)
    log.emit("ralph_iter_start", 2)
    judge = tmp_path / "judge.sh"
    judge.write_text("exit 0\n")  # writes no verdict this time
    with pytest.raises(JudgeError, match="wrote no judge_result for round 2"):
        ShellJudge(judge)("out", JudgeContext("n", tmp_path, 2, "seed", ""), log)


def test_a_resume_started_as_a_new_run_appears_cannot_take_it_over(commit_node, monkeypatch,
                                                                   capsys):
    """The run folder is renamed into place before the loop marks it running: a
    resume of that id at that moment is refused, the new run goes on as its own."""
    from deeploop.nodeloop import loop
    tries = []
    real_hold = loop.hold

    def hold(run, check=None, **kw):  # the moment between the rename and the hold
        if not tries:
            tries.append("resuming")  # the resume's own hold goes straight through
            tries.append(main(["loop", "commit-msg", "--resume", run.path.name]))
            tries.append(capsys.readouterr().err)
        return real_hold(run, check, **kw)

    monkeypatch.setattr(loop, "hold", hold)
    result = run_node(find_node("commit-msg"), "seed", get_model("mock:commit-msg"),
                      run_id="new", budget=Budget(max_rounds=2))
    _, code, err = tries
    assert code == 2 and "'new' is in use by another process" in err, err
    assert (result.outcome.status, result.outcome.rounds) == ("hard_cap", 2)
    assert rounds_of(result.run_dir, "ralph_iter_start") == [1, 2]
    assert rounds_of(result.run_dir, "run_resumed") == []


def test_the_progress_bar_counts_rounds_against_the_cap_and_goes_on_after_a_resume(commit_node):
    from deeploop.harness import drive
    from deeploop.nodeloop.loop import node_steps
    from deeploop.nodeloop.progress import NodeProgress
    node = find_node("commit-msg")
    first = paused_run(node, Costly(), 2, Budget(max_rounds=4))
    bar = NodeProgress(disable=True)
    drive(node_steps(node, None, Costly(), resume=first.run_dir.name), [bar])
    assert (bar.bar.total, bar.bar.done) == (4, 4)  # 2 before the pause, 2 after
    assert bar.bar.postfix.startswith("score ")
    fresh = NodeProgress(disable=True)
    drive(node_steps(node, "seed", Costly(), budget=Budget(max_rounds=3)), [fresh])
    assert (fresh.bar.total, fresh.bar.done) == (3, 3)
