import json
import os
import signal
import subprocess
import sys

import pytest

from tests.helpers import (LEGACY, OWN_DRILLS, OWN_RUNS, PATIENCE, REPO, make_node,
                           recordings, wait_until)
from deeploop.cli import build_parser, main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", subcommands())
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: deeploop " + command in capsys.readouterr().out


def test_python_dash_m_and_usage_errors_are_one_line():
    proc = subprocess.run([sys.executable, "-m", "deeploop", "loop"], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "required" in proc.stderr


def test_loop_prints_the_run_folder(capsys, commit_node, seed_file, runs_root):
    code, out, err = run_cli(capsys, "loop", "commit-msg", "--seed", str(seed_file),
                             "--hard-cap", "2", "--run-id", "first", "--no-report")
    assert code == 0 and out.strip() == str(runs_root / "commit-msg" / "first")
    assert "hard_cap in 2 rounds (score=0.25)" in err


@pytest.mark.parametrize("args, message", [
    (["loop", "ghost", "--seed", "{seed}"], "unknown node 'ghost'"),
    (["loop", "nojudge", "--seed", "{seed}"], "has no judge"),
    (["loop", "noprompt", "--seed", "{seed}"], "has no PROMPT.md"),
    (["loop", "nofunc", "--seed", "{seed}", "--model", "mock:commit-msg"], "defines no function judge()"),
    (["loop", "syntax", "--seed", "{seed}", "--model", "mock:commit-msg"], "cannot load judge"),
    (["loop", "commit-msg", "--seed", "/no/such/seed.md"], "seed file not found"),
    (["loop", "commit-msg", "--seed", "{empty}"], "seed file is empty"),
    (["loop", "commit-msg", "--seed", "{seed}", "--run-id", "../x"], "invalid run id"),
    (["loop", "commit-msg", "--seed", "{seed}", "--run-id", "taken"], "already exists"),
    (["loop", "commit-msg", "--seed", "{seed}", "--model", "gpt:4"], "unknown model spec"),
    (["loop", "commit-msg", "--seed", "{seed}", "--model", "command:nope-xyz -p"],
     "command model not found"),
    (["loop", "commit-msg", "--seed", "{seed}", "--hard-cap", "0"], "--hard-cap must be"),
    (["loop", "commit-msg", "--seed", "{seed}", "--model", "anthropic:claude-sonnet-4-6"],
     "needs ANTHROPIC_API_KEY"),
    (["meta-loop", "commit-msg", "--seed", "{seed}", "--model", "anthropic:claude-sonnet-4-6"],
     "needs ANTHROPIC_API_KEY"),
    (["runs", ".."], "invalid node name '..'"),
    (["feedback", "ghost"], "unknown node"),
    (["show", "no-such-run"], "no run 'no-such-run'"),
])
def test_bad_input_is_one_line_exit_2_and_creates_nothing(args, message, capsys, tmp_path,
                                                          commit_node, nodes_dir, runs_root):
    make_node(nodes_dir, "nojudge")
    (make_node(nodes_dir, "noprompt", judge_py="") / "PROMPT.md").unlink()
    make_node(nodes_dir, "nofunc", judge_py="def judg(o, c):\n    return 1, [], {}\n")
    make_node(nodes_dir, "syntax", judge_py="def judge(o, c)\n")
    (runs_root / "commit-msg" / "taken").mkdir(parents=True)
    (runs_root / "commit-msg" / "taken" / "events.jsonl").write_text("")  # a run, not a husk
    empty = tmp_path / "empty.md"
    empty.write_text("\n  \n")
    seed = commit_node / "sample-seed.md"
    argv = [a.format(seed=seed, empty=empty) for a in args]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in (runs_root / "commit-msg").iterdir()) == ["taken"]


def test_failed_run_exits_1_with_outcome(capsys, nodes_dir, tmp_path, runs_root):
    make_node(nodes_dir, "raiser", judge_py="def judge(o, c):\n    raise ValueError('no')\n",
              toml="default_model = 'mock:commit-msg'\n")
    seed = tmp_path / "seed.md"
    seed.write_text("x")
    code, out, err = run_cli(capsys, "loop", "raiser", "--seed", str(seed), "--no-report")
    assert code == 1
    outcome = json.loads((runs_root / "raiser" / os.listdir(runs_root / "raiser")[0]
                          / "outcome.json").read_text())
    assert outcome["status"] == "failed" and "ValueError: no" in outcome["exit_reason"]


def test_runs_and_show_work_on_the_projects_own_runs(capsys, monkeypatch):
    monkeypatch.setenv("DEEPLOOP_RUNS", str(OWN_RUNS))
    code, out, _ = run_cli(capsys, "runs", "commit-msg")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["RUN", "NODE", "STATUS", "ROUNDS", "SCORE", "STARTED"]
    assert lines[1].split() == ["commit-msg-20261203T190508Z-6a5f00", "commit-msg", "hard_cap",
                                "3", "0.25", "2026-12-03T19:05:08.534759Z"]
    assert [line.split()[4] for line in lines[1:]] == ["0.25", "0.25", "0.75", "0.75", "1.0",
                                                       "1.0"]
    code, out, _ = run_cli(capsys, "show", "commit-msg-20261203T190508Z-b05b64")
    assert "status   hard_cap (reached hard cap of 3 rounds)" in out
    assert "round 3: 0.75" in out and "verb-tense x3" in out
    code, out, _ = run_cli(capsys, "show", str(OWN_DRILLS / "legacy-branch"))
    assert code == 0 and "status   unfinished" in out and "round 6: 1.0" in out


@recordings
def test_runs_and_show_work_on_recorded_reference_runs(capsys, monkeypatch):
    monkeypatch.setenv("DEEPLOOP_RUNS", str(LEGACY))
    code, out, _ = run_cli(capsys, "runs", "commit-msg")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["RUN", "NODE", "STATUS", "ROUNDS", "SCORE", "STARTED"]
    assert lines[1].split() == ["commit-msg-20260522T061505Z-meta1", "commit-msg", "hard_cap",
                                "3", "0.25", "2026-05-22T06:15:05Z"]
    assert len(lines) == 7
    code, out, _ = run_cli(capsys, "show", "commit-msg-20260522T061507Z-meta3")
    assert "status   hard_cap (reached hard cap of 3 rounds)" in out
    assert "round 3: 0.75" in out and "verb-tense x3" in out
    code, out, _ = run_cli(capsys, "show", str(LEGACY / "deeper" / "smoke-branch"))
    assert code == 0 and "status   unfinished" in out and "round 5: 1.0" in out


def test_feedback_and_meta_loop_commands(capsys, commit_node, seed_file):
    code, out, _ = run_cli(capsys, "meta-loop", "commit-msg", "--seed", str(seed_file),
                           "--runs", "2", "--hard-cap", "1", "--no-report")
    assert code == 0 and "-> PROMOTED: length" in out and "Final BANS.md" in out
    code, out, _ = run_cli(capsys, "feedback", "commit-msg")
    assert code == 0 and "0 new lesson(s)" in out and "  2 length" in out


# reads the prompt, says it has started (the run is now inside a model call), then hangs
SLOW_MODEL = ("import pathlib, sys, time; sys.stdin.read(); "
              "pathlib.Path(sys.argv[1]).write_text('asked'); time.sleep(600)")


def test_ctrl_c_during_a_run_records_aborted_interrupted(tmp_path, commit_node, runs_root):
    script, asked = tmp_path / "slow.py", tmp_path / "asked"
    script.write_text(SLOW_MODEL)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "deeploop", "loop", "commit-msg", "--seed",
                             str(commit_node / "sample-seed.md"), "--run-id", "int",
                             "--model", f"command:{sys.executable} {script} {asked}"],
                            env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(asked.exists, "the run to ask its model")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130 and "interrupted" in err
    outcome = json.loads((runs_root / "commit-msg" / "int" / "outcome.json").read_text())
    assert outcome["status"] == "aborted" and outcome["exit_reason"] == "interrupted"


def test_node_loop_demo_climbs_in_a_fresh_folder(capsys, runs_root):
    code, out, _ = run_cli(capsys, "demo", "--node-loop")
    assert code == 0
    assert "score climb: 0.25 -> 0.25 -> 0.75 -> 0.75 -> 1.0 -> 1.0" in out
    assert (REPO / "nodes" / "commit-msg" / "BANS.md").read_text() == ""


def test_demo_follows_the_experiment_journal():
    from deeploop.cli.demo import describe
    line = describe({"type": "experiment_result", "round": 3, "status": "keep",
                     "val_bpb": 2.5, "description": "LR 0.01 -> 0.02"})
    assert line == "  experiment  3  keep     val_bpb 2.500000  LR 0.01 -> 0.02"
    # numbered as trained experiments: noise runs are the baseline again, not experiments
    assert describe({"type": "experiment_result", "round": 6, "experiment": 2, "status": "keep",
                     "val_bpb": 2.4, "description": "LR 0.02 -> 0.03", "margin_sigma": 4.51,
                     "confirm": {"again": 2.4012345678}}) == (
        "  experiment  2  keep     val_bpb 2.400000  LR 0.02 -> 0.03  (+4.5 sigma)  "
        "confirmed by a second run: 2.401235")
    assert describe({"type": "experiment_result", "round": 2, "experiment": 0,
                     "status": "discard", "val_bpb": 2.5,
                     "description": "baseline (noise run 2/3)"}).startswith("  noise run      discard")
    assert describe({"type": "meta_analysis", "analysis": 1,
                     "hypotheses": [{"change": "DEPTH 2 -> 3"}]}).endswith("next: DEPTH 2 -> 3")
    assert describe({"type": "agent_output"}) is None


@pytest.mark.parametrize("built", [True, False])
def test_experiment_demo_prints_report_html_only_when_it_exists(capsys, runs_root, monkeypatch,
                                                                built):
    import deeploop.notebook.session as session_module
    from deeploop.notebook.session import SessionResult, SessionState
    seen = {}

    def fake_session(notebook, params, **kwargs):
        seen.update(params)
        run_dir = runs_root / "experiment" / params["tag"]
        run_dir.mkdir(parents=True)
        if built:
            (run_dir / "report.html").write_text("<html></html>")
        return SessionResult(run_dir, run_dir / "session.ipynb", SessionState.PASSED, params, 1.0)

    monkeypatch.setattr(session_module, "run_session", fake_session)
    code, out, _ = run_cli(capsys, "demo", "--experiments", "2", "--budget", "1")
    assert code == 0 and seen["experiments"] == 2 and seen["budget"] == 1.0
    report = runs_root / "experiment" / seen["tag"] / "report.html"
    if built:
        assert f"report:     {report}" in out
    else:
        assert str(report) not in out
        assert f"report:     not built; try: deeploop report {report.parent}" in out
