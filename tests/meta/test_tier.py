"""The meta tier inside the loop: when it runs, what it writes and commits,
how it steers the next experiments, and how it treats bad input."""
from __future__ import annotations

import re

import pytest

from deeploop.errors import InputError
from deeploop.events import read_events
from deeploop.experiment.results import read_results
from deeploop.experiment.rundir import Settings
from deeploop.experiment.hypotheses import HYPOTHESES_FILE, parse_hypotheses
from deeploop.meta.offline_analyst import OfflineAnalyst
from deeploop.meta.program import program_version, strategy_section
from deeploop.meta.tier import Steering, analyse_run, due, steer_choice

from .conftest import FixedAnalyst, Values, of_type, run_loop

CONTRACT = {"type", "analysis", "trigger", "analyst", "fallback", "experiments", "best",
            "hypotheses", "verdicts", "program_version"}


@pytest.mark.parametrize("experiments, fires", [(11, False), (12, True), (13, False),
                                                (24, True)])
def test_interval_counts_non_baseline_rows(experiments, fires):
    event = {"type": "experiment_result", "kind": "proposal", "status": "discard",
             "best_before": 2.0, "val_bpb": 2.1}
    assert (due(event, Settings(), experiments, None) is not None) is fires
    assert due(event, Settings(), 12, analysed_at=12) is None  # already analysed there
    assert due(event, Settings(meta_interval=0), 12, None) is None
    assert due({**event, "kind": "baseline"}, Settings(), 12, None) is None
    assert due({**event, "status": "rejected"}, Settings(), 12, None) is None


def test_analyses_run_after_the_12th_and_24th_experiment(meta_run):
    events = run_loop(meta_run, experiments=25, meta_threshold=1.0)
    analyses = of_type(events, "meta_analysis")
    assert [a["experiments"] for a in analyses] == [12, 24]
    assert [a["analysis"] for a in analyses] == [1, 2]
    assert analyses[0]["trigger"] == "interval: 12 experiments (every 12)"
    # each follows the result of the experiment that made the count
    for analysis in analyses:
        before = events[events.index(analysis) - 1]
        assert before["type"] == "experiment_result" and before["round"] == analysis["round"]


def test_a_big_win_triggers_but_exactly_the_threshold_does_not(meta_run):
    scores = {0.003: 2.1, 0.004: 2.097, 0.005: 2.093999}  # gains 0.003, then 0.003001
    events = run_loop(meta_run, experiments=2, proposer=Values(0.004, 0.005),
                      objective=lambda knobs: scores[knobs["LR"]])
    results = of_type(events, "experiment_result")
    assert [(r["status"], r["val_bpb"]) for r in results] == [
        ("keep", 2.1), ("keep", 2.097), ("keep", 2.093999)]
    analyses = of_type(events, "meta_analysis")
    assert len(analyses) == 1 and analyses[0]["round"] == 2
    assert analyses[0]["trigger"] == "big win: 2.097000 -> 2.093999 (more than 0.003)"


def test_outputs_commit_and_event(meta_run):
    ws = meta_run.workspace()
    program_before = ws.read("program.md")
    events = run_loop(meta_run, experiments=12)
    analysis = of_type(events, "meta_analysis")[-1]
    assert CONTRACT <= set(analysis)
    assert analysis["analyst"] == "offline" and analysis["fallback"] is None
    assert [h["id"] for h in analysis["hypotheses"]] == [f"M{analysis['analysis']}.{i}"
                                                         for i in range(1, 6)]
    assert set(analysis["hypotheses"][0]) == {"id", "rank", "change", "expected", "confidence",
                                              "reason"}
    best = read_results(meta_run.results_path).best()
    assert analysis["best"] == {"val_bpb": best.val_bpb, "commit": best.commit}

    text = (ws.path / HYPOTHESES_FILE).read_text()
    assert re.match(r"# Meta-Analysis — \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n", text)
    assert [h.to_json() for h in parse_hypotheses(text)] == analysis["hypotheses"]

    log = (ws.path / "process_log.md").read_text()
    entry = log.split(f"### Meta-analysis {analysis['analysis']} (")[1]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d\)\n", entry)
    for part in ("| Experiments | 12 |", "| Keep % |", "| Crash % |", "| Best val_bpb | ",
                 "Improvement since", "**What worked:**", "**What didn't work:**",
                 "**Strategy change:**", "**Verdict on the previous hypotheses:**"):
        assert part in entry

    program = ws.read("program.md")
    assert program_version(program) == program_version(program_before) + analysis["analysis"]
    assert analysis["program_version"] == program_version(program)
    assert re.search(r"\*\*Last rewritten by:\*\* meta-agent \(\d{4}-\d\d-\d\d ", program)
    assert strategy_section(program).startswith(f"Set by meta-analysis {analysis['analysis']}")
    assert program.split("## Current Strategy")[0].split("**Version:**")[0] == \
        program_before.split("**Version:**")[0]
    assert program.split("## Rules")[1].split("## Current Strategy")[0] == \
        program_before.split("## Rules")[1].split("## Current Strategy")[0]

    head = ws.git("log", "-1", "--format=%H %s").split(" ", 1)
    assert head[0] == analysis["commit"] and head[1].startswith("meta: ")
    touched = ws.git("show", "--name-only", "--format=", "HEAD").split()
    assert sorted(touched) == ["process_log.md", "program.md"]
    assert not ws.is_dirty() and HYPOTHESES_FILE not in ws.git("status", "--porcelain")


def test_meta_commits_never_move_the_best_commit(meta_run):
    ws = meta_run.workspace()
    events = run_loop(meta_run, experiments=30)
    metas = [e["commit"] for e in of_type(events, "meta_analysis")]
    assert len(metas) >= 2
    best = read_results(meta_run.results_path).best()
    branch = ws.git("rev-list", "HEAD").split()
    assert all(m in branch for m in metas)              # discards reset to them, never past
    assert any(c.startswith(best.commit) for c in branch)  # the best is an ancestor ...
    assert ws.show(best.commit) == ws.read()            # ... with the same train.py
    for result in of_type(events, "experiment_result"):
        if result["status"] in ("keep", "discard") and result["kind"] == "proposal":
            assert ws.git("cat-file", "-t", result["commit"]).strip() == "commit"


def test_steering_top_hypothesis_then_two_to_one(meta_run):
    events = run_loop(meta_run, experiments=21, analyst=FixedAnalyst(), meta_interval=12,
                      meta_threshold=1.0)
    after = [e for e in of_type(events, "experiment_result") if e["round"] > 12][:9]
    tested = [(e.get("hypothesis") or {}).get("id") for e in after]
    assert tested[:7] == ["M1.1", "M1.2", "M1.3", None, "M1.4", "M1.5", None]
    assert tested[7:] == [None, None]  # after the window, the proposer's own ideas
    rows = read_results(meta_run.results_path).rows[13:20]
    assert [r.description.endswith(f"[{t}]") if t else "[" not in r.description
            for r, t in zip(rows, tested)] == [True] * 7


def test_steer_choice_is_pure():
    offered = ["a", "b", "c"]
    assert [steer_choice(offered, p) for p in range(9)] == [
        ["a"], offered, offered, [], offered, offered, [], [], []]
    history = [{"round": r, "kind": "proposal"} for r in range(1, 15)]
    assert Steering(after=12)(offered, history) == offered      # position 2
    assert Steering(after=None)(offered, history) == offered    # no analysis yet: all


def test_dirty_workspace_is_refused_and_nothing_written(meta_run):
    run_loop(meta_run, experiments=3, meta_interval=0)
    ws = meta_run.workspace()
    (ws.path / "program.md").write_text("edited by hand\n")
    before = meta_run.events_path.read_text()
    with pytest.raises(InputError, match="uncommitted changes .*program.md"):
        analyse_run(meta_run, OfflineAnalyst())
    assert meta_run.events_path.read_text() == before
    assert not (ws.path / HYPOTHESES_FILE).exists()


def test_program_without_a_strategy_section_gains_one(meta_run):
    ws = meta_run.workspace()
    ws.write("# My program\n\n**Version:** v7\n\nRules only.\n", "program.md")
    ws.commit("no strategy", paths=("program.md",))
    run_loop(meta_run, experiments=2, meta_interval=0)
    done = analyse_run(meta_run, OfflineAnalyst())
    program = ws.read("program.md")
    assert program.startswith("# My program\n\n**Version:** v8\n**Last rewritten by:** meta-agent")
    assert "\n\nRules only.\n\n## Current Strategy\n\nSet by meta-analysis 1" in program
    assert done.event["program_version"] == 8


def test_nothing_to_analyse_and_dry_run_write_nothing(meta_run):
    ws = meta_run.workspace()
    head = ws.head()
    assert analyse_run(meta_run, OfflineAnalyst()) is None  # header-only results
    run_loop(meta_run, experiments=2, meta_interval=0)
    head, before = ws.head(), meta_run.events_path.read_text()
    done = analyse_run(meta_run, OfflineAnalyst(), dry_run=True)
    assert len(done.analysis.hypotheses) == 5 and "### Meta-analysis 1" in done.plan.describe()
    assert ws.head() == head and meta_run.events_path.read_text() == before
    assert not (ws.path / HYPOTHESES_FILE).exists() and not ws.is_dirty()


def test_resume_honours_a_missed_trigger_and_a_half_written_analysis(meta_run):
    run_loop(meta_run, experiments=12, meta_interval=0)  # the tier was off: no analysis
    events = run_loop(meta_run, experiments=12)          # resumed with it on
    assert [e["experiments"] for e in of_type(events, "meta_analysis")] == [12]

    ws = meta_run.workspace()  # a kill between writing program.md and committing it
    meta_run.event_log().emit("meta_analysis_started", analysis=2)
    (ws.path / "program.md").write_text("half written\n")
    events = run_loop(meta_run, experiments=13)
    assert ws.read("program.md") != "half written\n" and not ws.is_dirty()
    journal = read_events(meta_run.events_path).events
    assert len(of_type(journal, "meta_analysis")) == 1
    assert len(of_type(events, "experiment_result")) == 1


class Echo:
    """A model that tests the first hypothesis its prompt offers (tagging it),
    or, offered none, has its own idea: a new SLEEP value."""

    spec = "echo:test"

    def __init__(self):
        self.prompts = []

    def complete(self, prompt, *, system=None, max_tokens=None, **context):
        from deeploop.experiment.knobs import read_knobs, set_knobs
        from deeploop.models.base import Completion
        from deeploop.usage import Usage
        self.prompts.append(prompt)
        source = prompt.split("(the only file you may change)\n\n```python\n")[1]
        source = source.split("\n```")[0] + "\n"
        offered = re.findall(r"^\[(M\d+\.\d+)\] ([A-Z_]+) \S+ -> (\S+)", prompt, re.M)
        if offered:
            tag, knob, new = offered[0]
            value = type(read_knobs(source)[knob].value)(new)
            description = f"test {tag}: {knob} -> {new} [{tag}]"
        else:
            knob, value = "SLEEP", len(self.prompts) / 1000
            description = f"SLEEP -> {value}"
        new_source = set_knobs(source, {knob: value})
        return Completion(f"DESCRIPTION: {description}\n```python\n{new_source}```\n",
                          Usage(calls=1))


def test_the_llm_proposer_is_steered_the_same_way(meta_run):
    from deeploop.experiment.proposers.llm import LLMProposer
    model = Echo()
    events = run_loop(meta_run, experiments=19, analyst=FixedAnalyst(), meta_threshold=1.0,
                      proposer=LLMProposer(model))
    after = [e for e in of_type(events, "experiment_result") if e["round"] > 12]
    assert [(e.get("hypothesis") or {}).get("id") for e in after] == [
        "M1.1", "M1.2", "M1.3", None, "M1.4", "M1.5", None]
    first, own = model.prompts[12], model.prompts[15]
    section = first.split("## Hypotheses to test in this experiment")[1].split("## train.py")[0]
    assert "[M1.1] DEPTH 4 -> 5" in section and "M1.2" not in section
    assert "tag of the hypothesis your change tests, for example [M1.1]" in first
    assert "## Hypotheses to test" not in own and "for example [M" not in own
    assert read_results(meta_run.results_path).rows[13].description == \
        "test M1.1: DEPTH -> 5 [M1.1]"


def test_a_kill_between_the_meta_commit_and_its_event_writes_no_duplicate(meta_run,
                                                                         monkeypatch):
    """Resume finishes the record from what meta_analysis_started kept: one
    process_log.md entry, one meta: commit, one meta_analysis event."""
    import deeploop.meta.tier as tier
    original = tier.write_plan

    def write_then_die(ws, plan):
        original(ws, plan)
        raise KeyboardInterrupt  # the kill lands after the commit, before the event

    monkeypatch.setattr(tier, "write_plan", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_loop(meta_run, experiments=12)
    ws = meta_run.workspace()
    assert ws.git("log", "-1", "--format=%s").startswith("meta:")
    assert of_type(read_events(meta_run.events_path).events, "meta_analysis") == []
    (ws.path / HYPOTHESES_FILE).unlink(missing_ok=True)
    monkeypatch.setattr(tier, "write_plan", original)

    killed_at = len(read_results(meta_run.results_path).experiments())
    events = run_loop(meta_run, experiments=killed_at)  # nothing more to train: recovery only
    assert of_type(events, "experiment_result") == []
    journal = read_events(meta_run.events_path).events
    analyses = of_type(journal, "meta_analysis")
    assert [(a["analysis"], a.get("recovered")) for a in analyses] == [(1, True)]
    assert parse_hypotheses(ws.read(HYPOTHESES_FILE))  # written after the commit: restored

    run_loop(meta_run, experiments=killed_at + 6)
    analyses = of_type(read_events(meta_run.events_path).events, "meta_analysis")
    numbers = [a["analysis"] for a in analyses]
    assert numbers == list(range(1, len(numbers) + 1))
    log = ws.read("process_log.md")
    assert [len(re.findall(rf"^### Meta-analysis {n}\b", log, re.M)) for n in numbers] == \
        [1] * len(numbers), log
    subjects = ws.git("log", "--format=%s").splitlines()
    assert sum(s.startswith("meta:") for s in subjects) == len(numbers)
