"""Fanout and verification: parallel jobs, deadlines, kills, synthesis, skeptics."""
import os
import re
import subprocess
import sys
import time

import pytest

from deeploop.drill import Drill, run_drill
from deeploop.drill.fanout import FanoutAnswerer, investigator_prompt, synthesize
from deeploop.drill.parallel import JobResult, classify, run_parallel
from deeploop.drill.verify import SkepticVote, Verifier, bedrock_survives, parse_vote
from deeploop.fileio import file_lock
from deeploop.models.base import Completion
from deeploop.usage import Usage
from tests.helpers import alive, wait_until
from .drill_helpers import events_of, read_tree_json

DEADLINE = 4.0  # the quick jobs need milliseconds, even on a loaded machine


def test_jobs_run_in_parallel_and_stragglers_are_killed(tmp_path):
    pid_file = tmp_path / "pid"

    def straggler():
        pid_file.write_text(str(os.getpid()))
        time.sleep(600)
        return "too late"

    jobs = {"slow": straggler, "fast": lambda: "found it", "also": lambda: (time.sleep(0.2), "x")[1]}
    started = time.monotonic()
    results = run_parallel(jobs, DEADLINE)
    elapsed = time.monotonic() - started
    assert [r.name for r in results] == ["slow", "fast", "also"]
    assert [r.status for r in results] == ["timeout", "completed", "completed"]
    assert elapsed >= DEADLINE  # it gave the straggler until the deadline
    assert not alive(int(pid_file.read_text()))
    assert f"no answer within {DEADLINE:g} s" in results[0].detail


def test_a_killed_job_takes_the_program_it_started_with_it(tmp_path):
    pid_file = tmp_path / "grandchild"

    def runs_a_program():
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        pid_file.write_text(str(proc.pid))
        proc.wait()
        return "never"

    results = run_parallel({"cmd": runs_a_program}, DEADLINE)
    assert results[0].status == "timeout"
    wait_until(lambda: not alive(int(pid_file.read_text())), "the grandchild to be killed")


def test_outcomes_are_classified():
    def boom():
        raise RuntimeError("disk full\nsecond line")

    results = run_parallel({
        "ok": lambda: Completion("a finding", Usage(3, 4, 0.5, 1)),
        "empty": lambda: "   ",
        "incomplete": lambda: "INVESTIGATION_INCOMPLETE: no sources reachable",
        "error": boom,
        "dies": lambda: os._exit(3),
    }, DEADLINE)
    by_name = {r.name: r for r in results}
    assert by_name["ok"].status == "completed" and by_name["ok"].usage.usd == 0.5
    assert by_name["empty"].status == "empty"
    assert by_name["incomplete"].status == "incomplete"
    assert by_name["error"].status == "error"
    assert by_name["error"].detail == "RuntimeError: disk full"
    assert by_name["dies"].status == "error" and "code 3" in by_name["dies"].detail


@pytest.mark.parametrize("text, status", [("", "empty"), ("x", "completed"),
                                          ("investigation_incomplete: why", "incomplete")])
def test_classify(text, status):
    assert classify(text) == status


class Investigators:
    """Scripted investigators: what each angle does, read from its prompt."""

    spec = "mock:investigators"

    def __init__(self, **behaviour):
        self.behaviour = behaviour

    def complete(self, prompt, **context):
        angle = re.search(r"## YOUR ANGLE: (\S+)", prompt).group(1)
        assert "ANCESTOR" not in prompt  # the question and the angle only
        act = self.behaviour.get(angle, "find")
        if act == "sleep":
            time.sleep(30)
        if act == "raise":
            raise RuntimeError("search API down")
        if act == "empty":
            return Completion("")
        if act == "incomplete":
            return Completion("INVESTIGATION_INCOMPLETE: nothing found")
        if act.startswith("BEDROCK"):
            return Completion(act, Usage(10, 10, 0.001, 1))
        return Completion(f"The {angle} points at the cold cache.", Usage(10, 10, 0.001, 1))


def test_investigator_prompt_has_the_question_and_angle_only():
    prompt = investigator_prompt("Why is checkout slow?", "boundary")
    assert "Why is checkout slow?" in prompt and "YOUR ANGLE: boundary" in prompt
    assert "INVESTIGATION_INCOMPLETE" in prompt


def test_survivors_are_synthesised_with_a_note_per_failed_angle(node_dir):
    answerer = FanoutAnswerer(Investigators(boundary="sleep", precedent="incomplete"),
                              deadline=DEADLINE)
    session = Drill.start("checkout is slow")
    result = run_drill(session, _one_round(answerer))
    assert result == "paused"
    claim = read_tree_json(session.run_dir)["root"]["children"][0]
    assert claim["tag"] == "from-fanout"
    assert "The evidence points at the cold cache." in claim["claim"]
    assert "[angle: boundary — collection failed: timeout]" in claim["claim"]
    assert "[angle: precedent — collection failed: incomplete]" in claim["claim"]
    completed = [e["angle"] for e in events_of(session.run_dir, "subagent_completed")]
    killed = {e["angle"]: e["reason"] for e in events_of(session.run_dir, "subagent_force_killed")}
    assert completed == ["evidence", "counterexample", "mechanism"]
    assert killed == {"boundary": "timeout", "precedent": "incomplete"}
    run_log = (session.run_dir / "improvements.md").read_text()
    node_log = (node_dir / "IMPROVEMENTS.md").read_text()
    for log in (run_log, node_log):
        assert f"## {session.run_id} · round 1 · " in log
        assert "- angle `boundary` · reason `timeout` · snippet: no answer within" in log
    assert run_log.startswith("# Run-scoped improvements — ")


class _one_round:
    """Let a source answer once, then run out (the drill pauses)."""

    def __init__(self, inner):
        self.inner, self.source, self.used = inner, inner.source, False

    def answer(self, question, chain, *, round):
        if self.used:
            return None
        self.used = True
        return self.inner.answer(question, chain, round=round)


def test_three_failures_block_and_two_blocked_rounds_fail(node_dir):
    answerer = FanoutAnswerer(Investigators(evidence="sleep", boundary="raise", mechanism="empty"),
                              deadline=DEADLINE)
    session = Drill.start("checkout is slow")
    assert run_drill(session, answerer) == "failed"
    assert session.rounds == 2 and session.exit_reason == "2 BLOCKED rounds in a row"
    answers = events_of(session.run_dir, "answer_emitted")
    assert [a["outcome"] for a in answers] == ["blocked", "blocked"]
    assert answers[0]["answer"].startswith("BLOCKED: 3 of 5 investigators failed")
    assert [e["violations"] for e in events_of(session.run_dir, "judge_result")] == \
        [["fanout-blocked"]] * 2
    assert read_tree_json(session.run_dir)["root"]["children"] == []
    assert (node_dir / "IMPROVEMENTS.md").read_text().count(f"## {session.run_id} · round") == 2


def test_a_blocked_round_then_an_answer_resets_the_count():
    answerer = FanoutAnswerer(Investigators(), deadline=DEADLINE)
    session = Drill.start("checkout is slow")
    from deeploop.drill.replies import Reply
    session.record_blocked(Reply("BLOCKED: test", source="fanout", blocked=True))
    assert session.blocked_streak == 1
    session.answer(answerer.answer(session.question or session.ask().text, ["x"], round=2).text,
                   source="fanout", tag="from-fanout")
    assert session.blocked_streak == 0 and not session.finished
    session.close()


def test_a_majority_of_bedrock_findings_closes_the_branch():
    answerer = FanoutAnswerer(Investigators(evidence="BEDROCK:empirical — measured 2024",
                                            counterexample="BEDROCK:empirical — logs agree",
                                            boundary="BEDROCK:empirical",
                                            mechanism="BEDROCK:constraint — budget"),
                              deadline=DEADLINE)
    reply = answerer.answer("Why?", ["a claim"], round=1)
    assert reply.text == "BEDROCK:empirical — measured 2024 logs agree"
    assert reply.usage.calls == 5


def test_mechanical_synthesis_without_a_majority_keeps_the_paragraphs():
    results = [JobResult("evidence", "completed", "BEDROCK:empirical — x"),
               JobResult("mechanism", "completed", "cache  misses\nspike"),
               JobResult("boundary", "timeout")]
    assert synthesize(results) == ("BEDROCK:empirical — x\n\ncache misses spike\n\n"
                                   "[angle: boundary — collection failed: timeout]")


def test_a_synthesizer_model_merges_the_findings():
    class Synth:
        spec = "mock:synth"
        prompt = ""

        def complete(self, prompt, **context):
            Synth.prompt = prompt
            return Completion("the cold cache after each deploy", Usage(5, 5, 0.002, 1))

    answerer = FanoutAnswerer(Investigators(boundary="sleep"), deadline=DEADLINE,
                              synthesizer=Synth())
    reply = answerer.answer("Why is checkout slow?", ["checkout is slow"], round=1)
    assert reply.text == "the cold cache after each deploy"
    assert "### evidence" in Synth.prompt and "[angle: boundary — collection failed" in Synth.prompt
    assert reply.usage.calls == 5  # four investigators and the synthesizer


@pytest.mark.parametrize("text, vote", [
    ("UPHELD", SkepticVote(False)),
    ("REFUTED: the contract was our choice", SkepticVote(True, "the contract was our choice")),
    ("Thinking...\nrefuted — deploy cadence is a decision", SkepticVote(True, "deploy cadence is a decision")),
    ("REFUTED:", SkepticVote(False)),  # a refutation must name the deeper claim
])
def test_parse_vote(text, vote):
    assert parse_vote(text) == vote


def test_strict_majority_refutes():
    no, yes = SkepticVote(False), SkepticVote(True, "x")
    assert bedrock_survives([]) and bedrock_survives([no, yes])
    assert not bedrock_survives([yes, yes, no]) and not bedrock_survives([yes])


class Skeptics:
    """Each forked skeptic takes the next scripted vote (a counter file shared
    across the processes); the verdict depends on the count, not the order."""

    spec = "mock:skeptics"

    def __init__(self, counter, *votes):
        self.counter, self.votes = counter, votes

    def complete(self, prompt, **context):
        with file_lock(f"{self.counter}.lock"), open(self.counter, "a+") as fh:
            fh.seek(0)
            taken = len(fh.read())
            fh.write("x")
        return Completion(self.votes[taken % len(self.votes)], Usage(20, 5, 0.01, 1))


def test_refuted_bedrock_becomes_a_descent(tmp_path):
    skeptics = Skeptics(tmp_path / "n", "REFUTED: deploys flush the cache",
                        "REFUTED: deploys flush the cache", "UPHELD")
    session = Drill.start("checkout is slow",
                                 verifier=Verifier(skeptics, n=3, deadline=DEADLINE))
    session.answer("the cache is cold")
    result = session.answer("BEDROCK:constraint")
    assert result.outcome == "advanced"
    assert "bedrock-refuted" in result.verdict.violations
    assert session.tree.active.claim == "deploys flush the cache"
    assert session.tree.active.tag == "from-skeptic"
    verified = events_of(session.run_dir, "bedrock_verified")[0]
    assert verified["refuted"] and sum(v["refuted"] for v in verified["votes"]) == 2
    assert "skeptics refuted" in result.message
    assert events_of(session.run_dir, "answer_emitted")[-1]["usage"]["calls"] == 3
    session.close()
    assert Drill.resume(session.run_id).spend.usage.calls == 3  # replayed


def test_a_minority_refuting_leaves_the_bedrock(tmp_path):
    skeptics = Skeptics(tmp_path / "n", "REFUTED: deploys flush the cache", "UPHELD", "UPHELD")
    session = Drill.start("checkout is slow",
                                 verifier=Verifier(skeptics, n=3, deadline=DEADLINE))
    session.answer("the cache is cold")
    assert session.answer("BEDROCK:constraint").outcome == "bedrock"
    assert session.status == "passed"
    verified = events_of(session.run_dir, "bedrock_verified")[0]
    assert not verified["refuted"] and sum(v["refuted"] for v in verified["votes"]) == 1


def test_skeptics_that_fail_do_not_block_the_drill():
    class Asleep:
        spec = "mock:asleep"

        def complete(self, prompt, **context):
            time.sleep(30)

    session = Drill.start("checkout is slow",
                                 verifier=Verifier(Asleep(), n=2, deadline=DEADLINE))
    session.answer("the cache is cold")
    assert session.answer("BEDROCK:constraint").outcome == "bedrock"
    verified = events_of(session.run_dir, "bedrock_verified")[0]
    assert verified["votes"] == [] and len(verified["failed"]) == 2


def test_a_job_that_cannot_be_pickled_is_an_error_naming_why():
    import threading
    lock = threading.Lock()
    results = run_parallel({"locked": lambda: str(lock), "fine": lambda: "found it"}, DEADLINE)
    assert [r.status for r in results] == ["error", "completed"]
    assert results[0].detail.startswith("cannot hand the job to its process: TypeError")
    assert "lock" in results[0].detail


def test_an_anthropic_model_that_made_its_client_still_fans_out(monkeypatch):
    from deeploop.models.anthropic import AnthropicModel
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    model = AnthropicModel("claude-sonnet-4-5")
    made = model._client()
    results = run_parallel({"spec": lambda: f"{model.spec} {model.client is None}"}, DEADLINE)
    assert results[0].text == "anthropic:claude-sonnet-4-5 True"  # made again there, lazily
    assert model.client is made  # this process keeps its own


def test_jobs_see_the_callers_environment_and_folder_as_they_are_now(monkeypatch, tmp_path):
    run_parallel({"start": lambda: "the server is up"}, DEADLINE)  # the server's env is now fixed
    monkeypatch.setenv("DEEPLOOP_FANOUT_PROBE", "set after the server started")
    monkeypatch.chdir(tmp_path)
    results = run_parallel({"env": lambda: os.environ.get("DEEPLOOP_FANOUT_PROBE", "unset"),
                            "cwd": lambda: os.getcwd()}, DEADLINE)
    assert [r.text for r in results] == ["set after the server started", str(tmp_path)]
