"""The command line: deeploop drill and deeploop render, as a user runs them."""
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from deeploop.cli import main
from deeploop.models.base import Completion
from deeploop.models.mock import register_mock
from .drill_helpers import (LEGACY, LEGACY_BRANCH, OWN_DRILLS, REPO, SMOKE_BRANCH, events_of,
                            legacy_drills, read_tree_json, recordings)
from tests.helpers import PATIENCE, wait_until


ROUND_ANSWERS = ["cause A", "BRANCH:cause B", "BEDROCK:nonsense", "BEDROCK:constraint",
                 "rethink", "deeper still", "BEDROCK:prior-decision"]


def test_drill_from_an_answers_file(runs_root, tmp_path, capsys):
    answers = tmp_path / "answers.txt"
    answers.write_text("\n".join(ROUND_ANSWERS) + "\n")
    assert main(["drill", "root claim", "--answers", str(answers), "--run-id", "f1",
                 "--no-report"]) == 0
    out = capsys.readouterr()
    assert "round 3: rejected · score 0.0 · invalid-bedrock-category" in out.out
    assert "## Tree" in out.out
    assert out.out.rstrip().endswith(f"drill f1: passed (every branch reached bedrock) — "
                                     f"{runs_root / 'deeper' / 'f1'}")
    assert read_tree_json(runs_root / "deeper" / "f1")["cursor"] is None


def test_file_runs_out_then_resume_goes_on_from_the_next_line(runs_root, tmp_path, capsys):
    answers = tmp_path / "answers.txt"
    answers.write_text("cause A\nBRANCH:cause B\n")
    assert main(["drill", "--seed", str(OWN_DRILLS / "legacy-chain" / "seed.md"),
                 "--answers", str(answers), "--run-id", "f2", "--quiet", "--no-report"]) == 0
    assert "paused (answers ran out after round 2" in capsys.readouterr().out
    answers.write_text("\n".join(ROUND_ANSWERS) + "\n")
    assert main(["drill", "--resume", "f2", "--answers", str(answers), "--quiet",
                 "--no-report"]) == 0
    assert "passed" in capsys.readouterr().out
    tree = read_tree_json(runs_root / "deeper" / "f2")
    assert tree["root"]["claim"] == "Why do we review every pull request twice?"
    assert [c["claim"] for c in tree["root"]["children"]] == ["cause A", "cause B"]


def test_quiet_prints_only_the_final_line_and_no_progress_keeps_the_round_lines(
        runs_root, tmp_path, capsys):
    answers = tmp_path / "answers.txt"
    answers.write_text("cause A\nBEDROCK:constraint\n")
    assert main(["drill", "root claim", "--answers", str(answers), "--run-id", "q1",
                 "--quiet", "--no-report"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"drill q1: passed (every branch reached bedrock) — "
                                f"{runs_root / 'deeper' / 'q1'}"] and err == ""
    assert main(["drill", "root claim", "--answers", str(answers), "--run-id", "q2",
                 "--no-progress", "--no-report"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("round 1: advanced · score 0.0\n  drilling into: cause A\n"
                          "round 2: bedrock · score 1.0") and "drill:" not in err


@pytest.mark.parametrize("run", legacy_drills())
def test_render_a_legacy_folder_by_path(run, capsys):
    assert main(["render", str(run)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Depth tree\n")
    expected = {"legacy-branch": LEGACY_BRANCH, "smoke-branch": SMOKE_BRANCH}.get(run.name)
    if expected:
        assert text == expected


@pytest.mark.parametrize("run, text", [
    (OWN_DRILLS / "legacy-branch", LEGACY_BRANCH),
    pytest.param(LEGACY / "smoke-branch", SMOKE_BRANCH, marks=recordings)])
def test_render_by_run_id_and_as_html(legacy_copy, capsys, run, text):
    legacy_copy(run)
    assert main(["render", run.name]) == 0
    assert capsys.readouterr().out == text
    assert main(["render", run.name, "--html"]) == 0
    assert "<details open>" in capsys.readouterr().out


def test_render_refuses_clearly(runs_root, capsys):
    assert main(["render", "nope"]) == 2
    assert "deeploop render: no run 'nope'" in capsys.readouterr().err
    broken = runs_root / "deeper" / "broken"
    broken.mkdir(parents=True)
    (broken / "tree.json").write_text("{")
    (broken / "events.jsonl").write_text("")
    assert main(["render", "broken"]) == 2
    err = capsys.readouterr().err
    assert f"{broken / 'tree.json'}: not valid JSON" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["drill"], "give exactly one of: a CLAIM, --seed FILE or --resume RUN"),
    (["drill", "x", "--resume", "r"], "give exactly one of"),
    (["drill", "x", "--questioner", "oracle"], "unknown questioner 'oracle'"),
    (["drill", "x", "--answers", "/no/such/file"], "answers file not found: /no/such/file"),
    (["drill", "x", "--answers", "-", "--answerer", "mock:commit-msg"], "cannot be combined"),
    (["drill", "x", "--fanout", "9", "--answerer", "mock:commit-msg"], "--fanout must be between 1 and 5"),
    (["drill", "x", "--fanout", "3"], "--fanout needs a model"),
    (["drill", "x", "--verify", "3"], "--verify needs a model for the skeptics"),
    (["drill", "x", "--hard-cap", "0"], "--hard-cap must be a positive number"),
    (["drill", "x", "--deadline", "-1"], "--deadline must be a positive number"),
    (["drill", "x", "--answerer", "gpt:4"], "unknown model spec 'gpt:4'"),
    (["drill", "--seed", "/no/seed.md"], "seed file not found"),
    (["drill", "--resume", "nope"], "no run 'nope'"),
    (["drill", "--resume", "r", "--run-id", "s"], "--run-id names a new run"),
])
def test_bad_flags_exit_2_with_one_line_and_create_no_run(argv, message, runs_root, capsys,
                                                          monkeypatch):
    if "r" in argv:  # a run to resume
        from deeploop.drill import Drill
        Drill.start("x", run_id="r").close()
    before = sorted(p.name for p in (runs_root / "deeper").iterdir()) \
        if (runs_root / "deeper").exists() else []
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    after = sorted(p.name for p in (runs_root / "deeper").iterdir()) \
        if (runs_root / "deeper").exists() else []
    assert after == before


def test_a_failed_drill_exits_1(runs_root, capsys):
    assert main(["drill", "x", "--answerer", "command:true", "--quiet", "--no-report"]) == 1
    assert "failed (model failed twice in round 1" in capsys.readouterr().out


def test_a_locked_run_is_refused_by_the_cli(runs_root, capsys, monkeypatch):
    import io
    from deeploop.drill import Drill
    monkeypatch.setattr(sys, "stdin", io.StringIO("a\n"))
    Drill.start("x", run_id="held").close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from deeploop.drill import Drill; "
         "s = Drill.resume('held'); print('holding', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert main(["drill", "--resume", "held", "--answers", "-"]) == 2
        assert "deeploop drill: deeper 'held' is in use by another process" in capsys.readouterr().err
    finally:
        holder.stdin.close()
        holder.wait(PATIENCE)


class Angles:
    spec = "mock:drill-angles"

    def complete(self, prompt, **context):
        if "YOUR ANGLE: boundary" in prompt:
            time.sleep(600)  # killed at the deadline
        return Completion("BEDROCK:empirical — the dashboards show it")


def test_fanout_from_the_cli(runs_root, node_dir, capsys):
    register_mock("drill-angles", Angles)
    assert main(["drill", "x", "--no-report", "--fanout", "5",
                 "--investigator", "mock:drill-angles",
                 "--deadline", "4", "--run-id", "fan"]) == 0  # the others need ms
    run_dir = runs_root / "deeper" / "fan"
    assert [e["angle"] for e in events_of(run_dir, "subagent_force_killed")] == ["boundary"]
    assert len(events_of(run_dir, "subagent_completed")) == 4
    marker = read_tree_json(run_dir)["root"]["children"][0]
    assert marker["bedrock"] == "empirical" and marker["tag"] == "from-fanout"
    assert "[angle: boundary — collection failed: timeout]" in marker["rationale"]
    assert "reason `timeout`" in (node_dir / "IMPROVEMENTS.md").read_text()


def test_help_for_both_commands(capsys):
    for command in ("drill", "render"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
    assert "--fanout" in capsys.readouterr().out


ANSWER_BY_ROUND = textwrap.dedent(f"""
    import os, time
    answers = {ROUND_ANSWERS!r}
    time.sleep(0.1)
    print(answers[int(os.environ["ROUND"]) - 1])
""")


def _cli(*args):
    return [sys.executable, "-m", "deeploop", "drill", *args, "--quiet", "--no-report"]


@pytest.mark.timeout(900)  # seven CLI processes, each starting Python per round
def test_killed_for_real_then_resumed_equals_straight(runs_root, tmp_path):
    script = tmp_path / "answer.py"
    script.write_text(ANSWER_BY_ROUND)
    answerer = f"command:{sys.executable} {script}"
    env = dict(os.environ)
    subprocess.run(_cli("root claim", "--run-id", "straight", "--answerer", answerer),
                   cwd=REPO, env=env, check=True, capture_output=True)
    expected = read_tree_json(runs_root / "deeper" / "straight")
    rng = random.Random(7)
    for k, after_lines in enumerate((3, 9, 16)):
        run_id = f"killed-{k}"
        proc = subprocess.Popen(_cli("root claim", "--run-id", run_id, "--answerer", answerer),
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        events = runs_root / "deeper" / run_id / "events.jsonl"
        wait_until(lambda: events.exists() and len(events.read_text().splitlines())
                   >= after_lines, f"{after_lines} events", interval=0.01)
        time.sleep(rng.uniform(0, 0.15))  # a random moment after that (not an assertion)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not (runs_root / "deeper" / run_id / "outcome.json").exists()
        resumed = subprocess.run(_cli("--resume", run_id, "--answerer", answerer), cwd=REPO,
                                 env=env, capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        assert "passed" in resumed.stdout
        assert read_tree_json(runs_root / "deeper" / run_id) == expected
        outcome = json.loads((runs_root / "deeper" / run_id / "outcome.json").read_text())
        assert outcome["rounds"] == 7 and outcome["violations_total"] == {
            "invalid-bedrock-category": 1}


def test_render_rebuilds_a_missing_tree_from_the_journal(runs_root, capsys):
    from deeploop.drill import Drill
    with Drill.start("root claim", run_id="nt") as session:
        session.answer("cause A")
    (session.run_dir / "tree.json").unlink()
    assert main(["render", "nt"]) == 0
    assert capsys.readouterr().out.endswith("- [from-user] root claim\n"
                                            "  - [from-user] cause A  <-- CURSOR\n")
    other = runs_root / "deeper" / "empty"
    other.mkdir()
    (other / "events.jsonl").write_text('{"type": "judge_result", "round": 1}\n')
    assert main(["render", "empty"]) == 2
    assert "neither a drill journal nor a tree.json" in capsys.readouterr().err


def test_bare_fanout_takes_the_number_from_node_toml(runs_root, node_dir, capsys):
    register_mock("drill-angles", Angles)
    toml = node_dir / "node.toml"
    toml.write_text(toml.read_text().replace("fanout = 5", "fanout = 2"))
    assert main(["drill", "x", "--no-report", "--fanout", "--investigator", "mock:drill-angles",
                 "--deadline", "5", "--run-id", "fan-default"]) == 0
    run_dir = runs_root / "deeper" / "fan-default"
    assert [e["angle"] for e in events_of(run_dir, "subagent_completed")] \
        == ["evidence", "counterexample"]
    assert events_of(run_dir, "subagent_force_killed") == []
