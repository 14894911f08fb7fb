"""The loop end to end with a fake trainer: git state and results.tsv after
keep, discard, crash and rejected proposals; budgets; notifications."""
from __future__ import annotations

import json

import pytest

from deeploop.events import read_events
from deeploop.experiment.knobs import set_knobs
from deeploop.experiment.proposers import Proposal, failed
from deeploop.experiment.results import read_results
from deeploop.experiment.rundir import Settings
from deeploop.experiment.resume import run_experiments


class Scripted:
    """A proposer that makes the given knob edits in order (dicts), or returns
    raw text (str), or a failure (None)."""

    spec = "scripted"

    def __init__(self, *steps):
        self.steps = list(steps)
        self.contexts = []

    def propose(self, context):
        self.contexts.append(context)
        step = self.steps.pop(0)
        if step is None:
            return failed("model said nothing useful")
        if isinstance(step, str):
            return Proposal(step, "raw edit")
        desc = "; ".join(f"{k} -> {v}" for k, v in step.items())
        return Proposal(set_knobs(context.train_py, step), desc)


def run_all(run, proposer, **settings):
    """Run the loop to its end; fake trainers need no warm start (no torch)."""
    settings = {"budget": 5, "warm_start": False, "noise_runs": 0, **settings}
    events = list(run_experiments(run, Settings(**settings), proposer=proposer))
    return events, read_results(run.results_path)


def results_of(events):
    return [e for e in events if e["type"] == "experiment_result"]


def test_keep_discard_crash_and_git_state(fake_run):
    ws = fake_run.workspace()
    start = ws.head()
    proposer = Scripted({"LR": 0.006}, {"LR": 0.001}, {"MODE": "error"})
    events, results = run_all(fake_run, proposer, experiments=3)

    assert [r.status for r in results.rows] == ["keep", "keep", "discard", "crash"]
    assert results.rows[0].description == "baseline" and results.rows[0].commit == start[:7]
    assert results.rows[3].val_bpb == 0.0 and results.rows[3].memory_gb == 0.0
    kept = results.rows[1].commit
    assert ws.head()[:7] == kept and "LR = 0.006" in ws.read()
    assert not ws.is_dirty()
    log = ws.log_oneline()
    assert log.count("\n") == 3  # template, fake trainer, the kept experiment
    crash = results_of(events)[-1]
    assert crash["status"] == "crash" and crash["reason"] == "exit code 1"
    assert any("shape mismatch" in line for line in crash["log_tail"])
    assert (fake_run.logs_dir / "003.log").is_file()


def test_event_records_proposal_diff_metrics_and_timing(fake_run):
    events, _ = run_all(fake_run, Scripted({"DEPTH": 5}), experiments=1)
    result = results_of(events)[-1]
    assert result["round"] == 1 and result["kind"] == "proposal"
    assert "-DEPTH = 4" in result["diff"] and "+DEPTH = 5" in result["diff"]
    assert "val_bpb" not in result["metrics"]  # the fake prints none: the score is the harness's
    assert result["score"]["val_bpb"] == pytest.approx(result["val_bpb"])
    assert result["score"]["causal_probes"] > 0
    assert result["corpus_sha256"] == fake_run.corpus()["sha256"]
    assert result["timing"]["total_s"] >= result["timing"]["train_wall_s"] > 0
    assert result["proposal"]["description"] == "DEPTH -> 5"


def test_syntax_error_is_rejected_without_training(fake_run):
    ws = fake_run.workspace()
    before = ws.head()
    events, results = run_all(fake_run, Scripted("def broken(:\n"), experiments=1,
                              max_rejected=1)
    rejected = results_of(events)[-1]
    assert rejected["status"] == "rejected" and "does not parse" in rejected["reason"]
    assert len(results.rows) == 1  # only the baseline was trained
    assert ws.head() == before and not ws.is_dirty()
    assert not (fake_run.logs_dir / "001.log").exists()


def test_failed_proposal_is_recorded_and_not_counted(fake_run):
    """--experiments counts trained experiments: a rejection trains nothing."""
    events, results = run_all(fake_run, Scripted(None, "def broken(:\n", {"DEPTH": 5}),
                              experiments=1)
    statuses = [e["status"] for e in results_of(events)]
    assert statuses == ["keep", "rejected", "rejected", "keep"]
    assert results_of(events)[1]["reason"] == "model said nothing useful"
    outcome = json.loads((fake_run.path / "outcome.json").read_text())
    assert outcome["status"] == "passed" and outcome["rounds"] == 1
    assert [r.description for r in results.rows] == ["baseline", "DEPTH -> 5"]


def test_rejections_in_a_row_end_the_run_failed(fake_run):
    """Three unparseable replies used to end a run "3 experiments done"."""
    events, results = run_all(fake_run, Scripted(None, {"DEPTH": 5}, None, None, None),
                              experiments=3, max_rejected=3)
    assert [e["status"] for e in results_of(events)] == [
        "keep", "rejected", "keep", "rejected", "rejected", "rejected"]
    outcome = json.loads((fake_run.path / "outcome.json").read_text())
    assert outcome["status"] == "failed"
    assert outcome["exit_reason"] == ("3 proposals in a row were rejected and nothing was "
                                      "trained (last: model said nothing useful)")
    assert len(results.rows) == 2


def test_cli_run_of_unparseable_proposals_fails_with_the_reason(runs_root, corpus_file,
                                                                tmp_path):
    """The real command: a command: proposer that never gives a train.py."""
    import subprocess
    import sys
    from deeploop.experiment.rundir import init_run
    from .conftest import install_trainer
    install_trainer(init_run("bad", str(corpus_file)))
    script = tmp_path / "say.py"
    script.write_text("print('I would rather not')\n")
    proc = subprocess.run(
        [sys.executable, "-m", "deeploop", "experiment", "run", "--tag", "bad", "--resume",
         "--budget", "5", "--experiments", "3", "--max-rejected", "2", "--no-warm-start",
         "--meta-interval", "0", "--no-report", "--no-progress",
         "--proposer", f"command:{sys.executable} {script}"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "2 proposals in a row were rejected and nothing was trained" in proc.stderr
    assert "experiments:  0" in proc.stdout


def test_min_delta_discards_small_gains(fake_run):
    # WIDTH 128 -> 64 lowers val_bpb by 0.00005 only
    _, results = run_all(fake_run, Scripted({"WIDTH": 64}), experiments=1, min_delta=0.001)
    assert results.rows[-1].status == "discard"


def test_budget_passed_to_trainer_and_baseline_measured(fake_run):
    _, results = run_all(fake_run, Scripted(), experiments=0, budget=7)
    assert [r.description for r in results.rows] == ["baseline"]
    from .conftest import fake_bpb
    assert results.rows[0].val_bpb == pytest.approx(fake_bpb(fake_run), abs=2e-6)
    outcome = json.loads((fake_run.path / "outcome.json").read_text())
    assert outcome["status"] == "passed" and outcome["baseline_val_bpb"] == results.rows[0].val_bpb


def test_dollar_budget_stops_the_loop(fake_run):
    from deeploop.usage import Usage

    class Costly(Scripted):
        def propose(self, context):
            proposal = super().propose(context)
            proposal.usage = Usage(10, 10, 6.0, 1)
            return proposal

    events, results = run_all(fake_run, Costly({"DEPTH": 5}, {"DEPTH": 6}, {"DEPTH": 7}),
                              experiments=3, max_usd=10)
    assert len(results.experiments()) == 2
    assert any(e["type"] == "budget_exhausted" and "dollar" in e["reason"] for e in events)
    assert json.loads((fake_run.path / "outcome.json").read_text())["status"] == "budget_exhausted"


def test_baseline_crash_fails_the_run(runs_root, corpus_file):
    from deeploop.experiment.rundir import init_run
    from .conftest import FAKE_TRAIN, install_trainer
    run = init_run("broken", str(corpus_file))
    install_trainer(run, FAKE_TRAIN.replace('MODE = "ok"', 'MODE = "silent"'))
    events, results = run_all(run, Scripted({"DEPTH": 5}), experiments=2)
    assert [r.status for r in results.rows] == ["crash"]
    outcome = json.loads((run.path / "outcome.json").read_text())
    assert outcome["status"] == "failed" and "baseline crashed" in outcome["exit_reason"]


def test_notifications_once_with_failing_command(fake_run):
    events, _ = run_all(fake_run, Scripted({"LR": 0.006}, {"LR": 0.0061}), experiments=2,
                        notify_cmd="false")
    kinds = [e["kind"] for e in events if e["type"] == "notification"]
    assert kinds == ["breakthrough", "major_breakthrough", "done"]
    log = fake_run.notify_log.read_text().splitlines()
    assert any("MAJOR breakthrough" in line for line in log)
    assert any("notify-cmd failed: exit 1" in line for line in log)
    assert all(line.startswith("[") and line[9] == "]" for line in log)
    # a second run on the same tag never repeats them
    events, _ = run_all(fake_run, Scripted({"DEPTH": 5}), experiments=3)
    assert [e["kind"] for e in events if e["type"] == "notification"] == []


def test_events_are_the_journal(fake_run):
    events, _ = run_all(fake_run, Scripted({"DEPTH": 5}), experiments=1)
    journal = read_events(fake_run.events_path)
    assert journal.problems == []
    types = [e["type"] for e in journal.events]
    assert types[0] == "experiment_init"
    assert [e["type"] for e in events] == types[1:]
    for event in journal.events:
        assert event["run_id"] == "t1" and event["node"] == "experiment"


def test_offline_search_improves_the_fake_objective(fake_run):
    """Twelve offline experiments on the fake trainer (best near LR 0.006,
    DEPTH 6): the loop finds real improvements and keeps them in git."""
    from deeploop.experiment.proposers import get_proposer
    events, results = run_all(fake_run, get_proposer("offline"), experiments=12)
    baseline, best = results.baseline().val_bpb, results.best().val_bpb
    assert best < baseline - 0.05
    assert results.count("keep") >= 2 and results.count("crash") == 0
    assert fake_run.workspace().head()[:7] == results.best().commit
    descriptions = [r.description for r in results.experiments()]
    assert len(set(descriptions)) == len(descriptions)


def test_hand_edited_results_are_respected_and_kept(fake_run):
    run_all(fake_run, Scripted({"DEPTH": 5}), experiments=1)
    path = fake_run.results_path
    lines = path.read_text().splitlines()
    header = lines[0] + "\tnote"
    edited = [header] + [line + "\tok" for line in lines[1:]]
    edited.append("zzzzzzz\t0.000001\t1.0\tkept\tmy typo: would be the best\tbad")
    path.write_text("\n".join(edited) + "\n")
    events, results = run_all(fake_run, Scripted({"DEPTH": 6}), experiments=2)
    assert [p.split(": ", 1)[1] for p in results.problems] == [
        "status must be keep, discard or crash, got 'kept'"]
    assert "my typo" in path.read_text()
    assert results.rows[-1].status == "keep" and results.rows[-1].extra == {"note": ""}
    assert results.best().commit == results.rows[-1].commit
    assert path.read_text().splitlines()[-1].endswith("\tkeep\tDEPTH -> 6\t")


def test_progress_bar_follows_events():
    from deeploop.experiment.status import ProgressBar, time_left
    now = [0.0]
    bar = ProgressBar(total=4, done=0, best=None, hours=None, disable=True, clock=lambda: now[0])
    assert bar.postfix == "best val_bpb - | left ?"
    now[0] = 60.0
    bar({"type": "experiment_result", "kind": "baseline", "status": "keep", "val_bpb": 2.5})
    assert bar.done == 0 and bar.postfix == "best val_bpb 2.500000 | left 0:04:00"
    now[0] = 120.0
    bar({"type": "experiment_result", "kind": "proposal", "status": "keep", "val_bpb": 2.4})
    bar({"type": "experiment_started", "round": 2})
    assert bar.done == 1 and bar.postfix == "best val_bpb 2.400000 | left 0:03:00"
    assert time_left(2, 3, 120.0, hours=0.05) == 60.0  # capped by --hours
    assert time_left(0, 3, 0.0, hours=None) is None and time_left(5, 0, 9.0, None) == 0.0


def test_pending_hypotheses_reach_the_proposer_and_are_recorded(fake_run):
    ws = fake_run.workspace()
    (ws.path / "next-hypotheses.md").write_text(
        "# Meta-Analysis — 2026-05-22 06:15:05\n1. Deeper: DEPTH 4 -> 6\n2. LR 0.003 -> 0.006\n")
    from deeploop.experiment.proposers import get_proposer
    seen = []

    def steer(offered, history):
        seen.append([h.rank for h in offered])
        return offered

    events = list(run_experiments(fake_run, Settings(budget=5, experiments=3, warm_start=False,
                                                     noise_runs=0),
                                  proposer=get_proposer("offline"), steer=steer))
    results = read_results(fake_run.results_path)
    assert [r.description for r in results.rows[1:3]] == [
        "DEPTH 4 -> 6 [H1]", "LR 0.003 -> 0.006 [H2]"]
    assert seen == [[1, 2], [2], []]
    tagged = [e["hypothesis"]["rank"] for e in results_of(events) if e.get("hypothesis")]
    assert tagged == [1, 2]


def test_events_number_experiments_apart_from_noise_runs(fake_run):
    """round numbers every row; experiment says which of --experiments N it is,
    so a monitor shows 'experiment 2' when 2 of 2 are done after 3 noise runs."""
    from deeploop.experiment.rundir import Settings
    from deeploop.experiment.resume import run_experiments
    events = list(run_experiments(fake_run, Settings(experiments=2, budget=1, warm_start=False,
                                                     noise_runs=3)))
    results = [e for e in events if e["type"] == "experiment_result"]
    assert [e["round"] for e in results][:4] == [0, 1, 2, 3]
    assert [e["experiment"] for e in results][:4] == [0, 0, 0, 0]
    trained = [e for e in results if e["kind"] == "proposal" and e["status"] != "rejected"]
    assert [e["experiment"] for e in trained] == [1, 2]
    assert trained[-1]["round"] >= 5
    started = [e for e in events if e["type"] == "experiment_started"]
    assert started[-1]["experiment"] == 2
