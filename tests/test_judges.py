import importlib.util
import json
from pathlib import Path

import pytest

from tests.helpers import REPO
from deeploop.errors import JudgeError
from deeploop.events import EventLog, read_events
from deeploop.judges import JudgeContext, PythonJudge, ShellJudge, as_verdict


def commit_judge():
    spec = importlib.util.spec_from_file_location("cm_judge", REPO / "nodes/commit-msg/judge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.judge


@pytest.mark.parametrize("message, violations", [
    ("feat(api): add auth middleware to /api/* routes", []),
    ("feat(api): Added auth middleware to /api/* routes", ["verb-tense"]),
    ("fix: fixes the login bug", ["verb-tense"]),
    ("refactor(core.io): REFACTORED everything", ["verb-tense"]),
    ("chore: adding a thing", ["verb-tense"]),
    ("feat:  Added two spaces after the prefix", ["verb-tense"]),
    ("This commit adds authentication middleware to all the /api/* routes in the application"
     " for security reasons.", ["no-conv-format", "length", "trailing-period"]),
    ("feat(API): add x", ["no-conv-format"]),
    ("style: add x", ["no-conv-format"]),
    ("docs: 42 typos fixed", []),
    ("perf: " + "a" * 64, []),
    ("perf: " + "a" * 65, ["length"]),
    ("feat: add it.", ["trailing-period"]),
])
def test_commit_msg_rules(message, violations):
    result = commit_judge()(message, None)
    assert result["violations"] == violations
    assert result["score"] == (4 - len(violations)) / 4
    assert result["detail"] == {"latest": message, "length": len(message)}


def test_commit_msg_judges_the_last_non_empty_line():
    result = commit_judge()("thinking...\nfeat: add x\n\n", None)
    assert result["detail"]["latest"] == "feat: add x" and result["score"] == 1.0


@pytest.mark.parametrize("value", [
    {"score": 0.5, "violations": ["a"], "detail": {"k": 1}}, (0.5, ["a"], {"k": 1}), (0.5, ["a"])])
def test_judge_may_return_dict_or_tuple(value):
    verdict = as_verdict(value, "j")
    assert verdict.score == 0.5 and verdict.violations == ["a"]


@pytest.mark.parametrize("value", [None, 1.5, (2, []), {"score": "high"}, (0.5, [1])])
def test_nonsense_from_a_judge_is_a_judge_error(value):
    with pytest.raises(JudgeError):
        as_verdict(value, "j")


def _ctx(tmp_path, round=1):
    return JudgeContext("n", tmp_path, round, "seed", "state")


def test_python_judge_records_judge_result(tmp_path):
    (tmp_path / "judge.py").write_text("def judge(output, ctx):\n    return 1, [], {'n': len(output)}\n")
    log = EventLog(tmp_path / "events.jsonl", "r", "n")
    verdict = PythonJudge(tmp_path / "judge.py")("abc", _ctx(tmp_path), log)
    assert verdict.score == 1.0
    event = read_events(tmp_path / "events.jsonl").events[0]
    assert event["type"] == "judge_result" and event["detail"] == {"n": 3}


def test_python_judge_that_raises_is_a_judge_error(tmp_path):
    (tmp_path / "judge.py").write_text("def judge(output, ctx):\n    raise ValueError('boom')\n")
    with pytest.raises(JudgeError, match="ValueError: boom"):
        PythonJudge(tmp_path / "judge.py")("x", _ctx(tmp_path), EventLog(tmp_path / "e", "r", "n"))


SHELL_JUDGE = r'''#!/usr/bin/env bash
set -euo pipefail
RUN_DIR="$1"; ROUND="$2"
latest=$(tail -n 1 "$RUN_DIR/state.md")
score=0.5; v='["too-vague"]'
[ "$latest" = "good" ] && { score=1.0; v='[]'; }
printf '{"ts":"2026-01-01T00:00:00Z","run_id":"%s","node":"sh","round":%d,"type":"judge_result","score":%s,"violations":%s,"detail":{}}\n' \
  "$(basename "$RUN_DIR")" "$ROUND" "$score" "$v" >> "$RUN_DIR/events.jsonl"
'''


def test_shell_judge_follows_the_reference_contract(tmp_path):
    (tmp_path / "judge.sh").write_text(SHELL_JUDGE)
    (tmp_path / "state.md").write_text("\n--- round 1 ---\ngood\n")
    verdict = ShellJudge(tmp_path / "judge.sh")("good", _ctx(tmp_path), None)
    assert verdict.score == 1.0 and verdict.violations == []


def test_shell_judge_exit_code_and_missing_line_are_judge_errors(tmp_path):
    (tmp_path / "judge.sh").write_text("exit 3\n")
    with pytest.raises(JudgeError, match="exited 3"):
        ShellJudge(tmp_path / "judge.sh")("x", _ctx(tmp_path), None)
    (tmp_path / "judge.sh").write_text("exit 0\n")
    with pytest.raises(JudgeError, match="no judge_result"):
        ShellJudge(tmp_path / "judge.sh")("x", _ctx(tmp_path), None)
