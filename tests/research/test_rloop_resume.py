"""Resume: a run killed anywhere continues without losing or duplicating rows."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from deeploop.errors import InputError, RunLocked
from deeploop.events import EventLog
from deeploop.workspace import Workspace
from deeploop.fileio import file_lock
from deeploop.research.process_log import cohorts_recorded
from deeploop.research.rundir import init_research

from .rloop_helpers import (Killed, ScriptedSynth, collection, entries, events, git,  # noqa: F401
                            run, start)

TARGET = 6  # one cohort analysis on the way


def resume(tag, collection, synth=None):
    prepared = start(tag, collection, entries=TARGET)
    prepared.synthesizer = synth or ScriptedSynth()
    outcome = run(prepared)
    return prepared, outcome


def assert_whole(prepared):
    """Every round recorded once: one row, one block, one commit per question asked."""
    rows = entries(prepared)
    assert len(rows) == TARGET
    assert max(Counter(r.question for r in rows).values()) == 1
    report = prepared.run.report_path.read_text()
    assert all(report.count(f"### {r.question}\n") == 1 for r in rows)
    subjects = git(prepared, "log", "--format=%s").splitlines()
    rounds = [s.split(":")[0] for s in subjects if s.startswith("research ")]
    assert len(rounds) == len(set(rounds)) == TARGET
    assert sum(s.startswith("meta: cohort 1") for s in subjects) == 1
    assert git(prepared, "status", "--porcelain", "--untracked-files=no") == ""
    assert cohorts_recorded(prepared.run.process_log_path.read_text()) == 1
    assert [e["cohort"] for e in events(prepared, "meta_analysis")] == [1]


def kill_first(patch, target, name, when, land=False):
    """Make ``target.name`` raise Killed the first time ``when(*args)`` holds
    (after letting the call happen, with ``land``)."""
    original = getattr(target, name)
    fired = []

    def wrapper(*args, **kwargs):
        if not fired and when(*args, **kwargs):
            fired.append(True)
            if land:
                original(*args, **kwargs)
            raise Killed()
        return original(*args, **kwargs)

    patch.setattr(target, name, wrapper)


def killed_at_commit(tag, collection, monkeypatch, message_starts, land):
    """A run of ``tag`` killed at its first commit whose message starts with
    ``message_starts`` (after the commit lands, with ``land``)."""
    prepared = start(tag, collection, entries=TARGET)
    prepared.synthesizer = ScriptedSynth()
    with monkeypatch.context() as patch, pytest.raises(Killed):
        kill_first(patch, Workspace, "commit",
                   lambda self, msg, **k: msg.startswith(message_starts), land=land)
        run(prepared)
    return prepared


def test_killed_while_synthesising_the_round_is_asked_again(collection):
    prepared = start("k-synth", collection, entries=TARGET)
    prepared.synthesizer = ScriptedSynth(fail_on=2, failure=Killed())
    with pytest.raises(Killed):
        run(prepared)
    assert len(entries(prepared)) == 1
    prepared, outcome = resume("k-synth", collection)
    assert outcome["status"] == "passed"
    interrupted = events(prepared, "research_interrupted")
    assert [e["round"] for e in interrupted] == [2]
    assert entries(prepared)[1].question == interrupted[0]["question"]
    assert_whole(prepared)


def test_killed_after_the_synthesis_finishes_from_the_journal_without_asking_again(
        collection, monkeypatch):
    from deeploop.research import loop
    prepared = start("k-write", collection, entries=TARGET)
    prepared.synthesizer = ScriptedSynth()
    with monkeypatch.context() as patch, pytest.raises(Killed):
        kill_first(patch, loop, "append_entry", lambda *a: len(entries(prepared)) == 1)
        run(prepared)
    assert git(prepared, "status", "--porcelain", "--untracked-files=no").strip() == "M report.md"
    second = events(prepared, "research_started")[1]["question"]
    prepared, _ = resume("k-write", collection, synth := ScriptedSynth())
    assert second not in synth.calls  # no second search, no second bill
    assert entries(prepared)[1].question == second
    assert_whole(prepared)


def test_killed_between_commit_and_its_event_keeps_the_commit(collection, monkeypatch):
    prepared = killed_at_commit("k-commit", collection, monkeypatch, "research 3", land=True)
    prepared, _ = resume("k-commit", collection)
    committed = [e for e in events(prepared, "research_committed") if e["round"] == 3]
    assert len(committed) == 1 and committed[0]["recovered"] is True
    assert_whole(prepared)


@pytest.mark.parametrize("land", [False, True], ids=["before-commit", "after-commit"])
def test_killed_during_the_cohort_analysis_records_it_once(collection, monkeypatch, land):
    prepared = killed_at_commit("k-meta", collection, monkeypatch, "meta:", land=land)
    prepared, _ = resume("k-meta", collection)
    log = prepared.run.process_log_path.read_text()
    assert log.count("### Cohort 0 → 1 Analysis") == 1
    assert [e.get("recovered") for e in events(prepared, "meta_analysis")] == [True]
    assert_whole(prepared)


@pytest.mark.parametrize("file", ["process_log.md", "program.md"])
def test_a_cohort_cut_short_after_its_event_is_written_from_the_event(collection, monkeypatch,
                                                                       file):
    from deeploop.research import loop
    prepared = start(f"k-cohort-{file[:4]}", collection, entries=TARGET)
    prepared.synthesizer = ScriptedSynth()
    with monkeypatch.context() as patch, pytest.raises(Killed):
        kill_first(patch, loop, "atomic_write_text", lambda path, text: path.name == file)
        run(prepared)
    analysed = events(prepared, "cohort_analysed")
    assert [e["cohort"] for e in analysed] == [1] and not events(prepared, "meta_analysis")
    assert git(prepared, "status", "--porcelain", "--untracked-files=no").strip() == \
        ("" if file == "process_log.md" else "M process_log.md")
    prepared, _ = resume(f"k-cohort-{file[:4]}", collection, synth := ScriptedSynth())
    assert len(synth.calls) == TARGET - 5  # no round asked again
    assert prepared.run.program_path.read_text() == analysed[0]["program"]
    assert prepared.run.process_log_path.read_text().count(analysed[0]["entry"].strip()) == 1
    meta = events(prepared, "meta_analysis")[0]
    assert meta["recovered"] is True and meta["version_to"] == 2
    assert meta["change"] == analysed[0]["change"] and "entry" not in meta
    assert_whole(prepared)


def make_legacy(prepared) -> None:
    """The run's journal as the loop wrote it before cohort_analysed existed."""
    path = prepared.run.events_path
    kept = [json.loads(line) for line in path.read_text().splitlines()]
    kept = [{k: v for k, v in e.items() if k != "cohort_events"} for e in kept
            if e["type"] != "cohort_analysed"]
    path.write_text("".join(json.dumps(e) + "\n" for e in kept))


@pytest.mark.parametrize("land", [False, True], ids=["before-commit", "after-commit"])
def test_a_run_from_before_cohort_events_adopts_its_cohort_from_the_process_log(
        collection, monkeypatch, land):
    prepared = killed_at_commit("legacy", collection, monkeypatch, "meta:", land=land)
    make_legacy(prepared)
    prepared, outcome = resume("legacy", collection)
    assert [(e["cohort"], e.get("adopted")) for e in events(prepared, "cohort_analysed")] == \
        [(1, True)]
    assert [e.get("recovered") for e in events(prepared, "meta_analysis")] == [True]
    assert outcome["cohorts"] == 1
    assert_whole(prepared)


def test_a_finished_run_from_before_cohort_events_goes_on_to_its_next_cohort(collection):
    prepared = start("legacy-done", collection, entries=TARGET)
    prepared.synthesizer = ScriptedSynth()
    run(prepared)
    make_legacy(prepared)
    prepared = start("legacy-done", collection, entries=10)
    prepared.synthesizer = ScriptedSynth(calls=[""] * TARGET)  # new follow-up questions
    assert run(prepared)["cohorts"] == 2
    assert [(e["cohort"], e.get("adopted")) for e in events(prepared, "cohort_analysed")] == \
        [(1, True), (2, None)]
    assert [e["cohort"] for e in events(prepared, "meta_analysis")] == [1, 2]
    log = prepared.run.process_log_path.read_text()
    assert log.count("### Cohort 0 → 1 Analysis") == log.count("### Cohort 1 → 2 Analysis") == 1


def test_ctrl_c_ends_aborted_with_whole_files_and_resume_goes_on(collection):
    prepared = start("ctrl-c", collection, entries=TARGET)
    prepared.synthesizer = ScriptedSynth(fail_on=3, failure=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run(prepared)
    assert events(prepared, "research_interrupted")[0]["round"] == 3
    assert (prepared.run.path / "outcome.json").read_text().count('"aborted"') == 1
    assert git(prepared, "status", "--porcelain", "--untracked-files=no") == ""
    prepared, outcome = resume("ctrl-c", collection)
    assert outcome["status"] == "passed"
    assert_whole(prepared)


def test_a_failing_synthesiser_fails_the_run_and_records_no_row(collection):
    prepared = start("broken", collection, entries=TARGET)
    prepared.synthesizer = ScriptedSynth(fail_on=2)
    with pytest.raises(RuntimeError):
        run(prepared)
    outcome = (prepared.run.path / "outcome.json").read_text()
    assert '"failed"' in outcome and "synthesiser broke" in outcome
    assert len(entries(prepared)) == 1
    assert [e["kind"] for e in events(prepared, "notification")] == ["crash"]


def test_hand_edits_are_committed_and_a_bad_row_is_reported_kept_not_counted(collection):
    prepared = start("edited", collection, entries=2)
    prepared.synthesizer = ScriptedSynth()
    run(prepared)
    bad = "What is X?\tsummary\tdoc.md\tSURE\t\tanswered\tv1\t1"
    with open(prepared.run.index_path, "a") as fh:
        fh.write(bad + "\n")
    prepared = start("edited", collection, entries=3)
    assert prepared.problems == [f"{prepared.run.index_path}:4: confidence 'SURE' is not "
                                 "HIGH, MEDIUM or LOW"]
    prepared.synthesizer = ScriptedSynth()
    assert run(prepared)["entries"] == 3
    assert bad in prepared.run.index_path.read_text()
    assert len(events(prepared, "index_problems")) == 1
    assert git(prepared, "log", "-1", "--format=%s", "HEAD~1") == \
        "edit: hand edits to knowledge_index.tsv\n"


def test_a_topic_still_the_placeholder_is_refused_and_nothing_changes(collection):
    run_ = init_research("placeholder", sources=f"local:{collection}")
    head = Workspace(run_.workspace_dir).head()
    journal = run_.events_path.read_text()
    prepared = start("placeholder", collection, topic=None, questions=None)
    with pytest.raises(InputError, match="program.md still says YOUR_TOPIC_HERE"):
        run(prepared)
    assert run_.events_path.read_text() == journal
    assert Workspace(run_.workspace_dir).head() == head
    program = run_.program_path.read_text().replace("YOUR_TOPIC_HERE", "cancel scopes")
    run_.program_path.write_text(program)
    prepared.synthesizer = ScriptedSynth()
    assert run(prepared)["entries"] == 3
    assert "edit: hand edits to program.md" in git(prepared, "log", "--format=%s")


def test_a_second_process_on_the_same_tag_is_refused(collection):
    start("locked", collection, entries=2).run.release()  # created, never run: lock let go
    prepared = start("locked", collection, entries=2)
    with file_lock(prepared.run.path / ".lock", wait=False):
        with pytest.raises(RunLocked, match="research 'locked' is in use"):
            run(prepared)


def test_a_run_started_as_a_new_tag_appears_cannot_take_it_over(collection, monkeypatch):
    """``research run`` renames a new tag into place, then its loop holds it: a
    run of the tag started in that moment is refused as in use, and the new
    tag runs as its creator asked (it used to be run by the other, with the
    other's settings, and its creator was refused)."""
    from deeploop.research import resume as loop_of
    tries = []
    real_hold = loop_of.hold

    def hold(run_, check=None, **kw):  # the moment between the creation and the loop's hold
        if not tries:
            tries.append("running")  # the other run's own hold goes straight through
            try:
                tries.append(run(start("gap", collection, entries=4)))
            except RunLocked as exc:
                tries.append(exc)
        return real_hold(run_, check, **kw)

    monkeypatch.setattr(loop_of, "hold", hold)
    prepared = start("gap", collection, entries=2)
    outcome = run(prepared)
    _, refused = tries
    assert isinstance(refused, RunLocked), refused
    assert "research 'gap' is in use by another process" in str(refused)
    assert len(events(prepared, "research_run_started")) == 1
    assert (outcome["status"], outcome["entries"], len(entries(prepared))) == ("passed", 2, 2)
    assert prepared.run.settings().entries == 2
    monkeypatch.setattr(loop_of, "hold", real_hold)
    run(start("gap", collection, entries=3))  # the lock was let go: a later run goes on
    assert len(entries(prepared)) == 3


def test_journal_lines_carry_the_research_node(collection):
    prepared = start("journal", collection, entries=1)
    run(prepared)
    assert isinstance(prepared.run.event_log(), EventLog)
    assert {e["node"] for e in events(prepared)} == {"research"}
    assert {e["run_id"] for e in events(prepared)} == {"journal"}


def test_a_stop_file_pauses_after_the_round_in_flight_and_resume_goes_on(collection):
    prepared = start("stop", collection, entries=TARGET)
    synth = ScriptedSynth()
    real = synth.research

    def research(question, context):  # a person touches STOP while round 2 is researched
        if len(synth.calls) == 1:
            (prepared.run.path / "STOP").write_text("")
        return real(question, context)
    synth.research = research
    prepared.synthesizer = synth
    outcome = run(prepared)
    assert (outcome["status"], outcome["exit_reason"]) == ("paused", "stopped by STOP file "
                                                           "after round 2")
    assert len(entries(prepared)) == 2 and not (prepared.run.path / "STOP").exists()
    assert events(prepared, "stop_requested")[0]["after_round"] == 2
    assert "done" not in [e["kind"] for e in events(prepared, "notification")]
    prepared, outcome = resume("stop", collection)
    assert outcome["status"] == "passed"
    assert_whole(prepared)
