import json
import multiprocessing
import os

import pytest

from tests.helpers import make_node
from deeploop.errors import InputError
from deeploop.events import read_events
from deeploop.lessons import RunViolations, feedback, lesson_keys, plan_promotions
from deeploop.nodes import find_node


def record_run(root, node, run_id, ts, violations_per_round, started=None):
    run_dir = root / node / run_id
    run_dir.mkdir(parents=True)
    lines = []
    if started:
        lines.append({"ts": ts, "run_id": run_id, "node": node, "type": "run_started",
                      "started": started})
    for i, violations in enumerate(violations_per_round, 1):
        lines.append({"ts": ts, "run_id": run_id, "node": node, "round": i,
                      "type": "judge_result", "score": 0.5, "violations": violations})
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return run_dir


def test_plan_counts_distinct_runs_and_skips_known_keys():
    runs = [RunViolations("r3", {"a", "b"}), RunViolations("r2", {"a"}), RunViolations("r1", {"b", "c"})]
    promos = plan_promotions(runs, "- `b` — hand written\n", window=5, threshold=2)
    assert [(p.key, p.count, p.example) for p in promos] == [("a", 2, "r3")]
    assert promos[0].line == "- `a` — promoted from 2 of last 5 runs (example: r3)"


def test_lesson_keys_read_bullets_in_order():
    assert lesson_keys("# Lessons\n- `x` — a\n* `y` b\ntext `z`\n- `x` again\n") == ["x", "y"]


def test_feedback_uses_recorded_start_time_not_mtime(commit_node, runs_root):
    # Newest by recorded time: r-new1, r-new2 (both 'late'); r-old has 'early' only.
    record_run(runs_root, "commit-msg", "r-new2", "2026-01-03T00:00:00Z", [["late"]])
    record_run(runs_root, "commit-msg", "r-new1", "2026-01-02T00:00:00Z", [["late"], ["late"]])
    old = record_run(runs_root, "commit-msg", "r-old", "2026-01-01T00:00:00Z", [["early"]])
    record_run(runs_root, "commit-msg", "r-old2", "2025-12-31T00:00:00Z", [["early"]])
    os.utime(old, (2e9, 2e9))  # newest mtime must not matter
    report = feedback(find_node("commit-msg"), window=2, threshold=2)
    assert report.window_runs == ["r-new2", "r-new1"]
    assert [p.key for p in report.promoted] == ["late"]
    assert lesson_keys((commit_node / "BANS.md").read_text()) == ["late"]


def test_precise_start_orders_runs_within_one_second(commit_node, runs_root):
    ts = "2026-01-01T00:00:00Z"
    record_run(runs_root, "commit-msg", "b", ts, [["x"]], started="2026-01-01T00:00:00.200000Z")
    record_run(runs_root, "commit-msg", "a", ts, [["y"]], started="2026-01-01T00:00:00.900000Z")
    report = feedback(find_node("commit-msg"), window=1, threshold=1)
    assert report.window_runs == ["a"] and [p.key for p in report.promoted] == ["y"]


def test_feedback_is_idempotent_and_records_an_event(commit_node, runs_root):
    for i in range(3):
        record_run(runs_root, "commit-msg", f"r{i}", f"2026-01-0{i + 1}T00:00:00Z", [["k"]])
    node = find_node("commit-msg")
    first = feedback(node)
    second = feedback(node)
    assert [p.key for p in first.promoted] == ["k"] and second.promoted == []
    assert (commit_node / "BANS.md").read_text() == \
        "- `k` — promoted from 3 of last 5 runs (example: r2)\n"
    events = read_events(runs_root / "commit-msg" / "r2" / "events.jsonl").of_type("lesson_promoted")
    assert len(events) == 1 and events[0]["key"] == "k" and events[0]["count"] == 3


def test_malformed_lines_are_skipped_and_reported(commit_node, runs_root):
    run = record_run(runs_root, "commit-msg", "r1", "2026-01-01T00:00:00Z", [["k"]])
    with open(run / "events.jsonl", "a") as fh:
        fh.write("{broken\n")
    record_run(runs_root, "commit-msg", "r2", "2026-01-02T00:00:00Z", [["k"]])
    report = feedback(find_node("commit-msg"))
    assert [p.key for p in report.promoted] == ["k"]
    assert report.problems == [f"{run / 'events.jsonl'}:2: not JSON (Expecting property name "
                               "enclosed in double quotes)"]


def test_unwritable_bans_is_a_clear_error_and_changes_nothing(commit_node, runs_root, monkeypatch):
    for i in range(2):
        record_run(runs_root, "commit-msg", f"r{i}", f"2026-01-0{i + 1}T00:00:00Z", [["k"]])
    (commit_node / "BANS.md").write_text("- `old` — kept\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("deeploop.lessons.atomic_write_text", refuse)
    with pytest.raises(InputError, match="cannot write .*BANS.md: Permission denied"):
        feedback(find_node("commit-msg"))
    assert (commit_node / "BANS.md").read_text() == "- `old` — kept\n"
    assert not read_events(runs_root / "commit-msg" / "r1" / "events.jsonl").of_type(
        "lesson_promoted")


@pytest.mark.parametrize("denied, message", [("BANS.md", "it is read-only"),
                                             ("commit-msg", "is not writable")])
def test_read_only_bans_or_node_folder_is_refused_and_changes_nothing(
        denied, message, commit_node, runs_root, monkeypatch):
    # The atomic rename would replace a read-only BANS.md; os.access is patched
    # because root (as in CI containers) passes every permission check.
    for i in range(2):
        record_run(runs_root, "commit-msg", f"r{i}", f"2026-01-0{i + 1}T00:00:00Z", [["k"]])
    (commit_node / "BANS.md").write_text("- `old` — kept\n")
    real_access = os.access
    monkeypatch.setattr("deeploop.lessons.os.access",
                        lambda path, mode: False if os.path.basename(path) == denied
                        else real_access(path, mode))
    with pytest.raises(InputError, match=f"cannot write .*BANS.md: .*{message}"):
        feedback(find_node("commit-msg"))
    assert (commit_node / "BANS.md").read_text() == "- `old` — kept\n"
    assert not read_events(runs_root / "commit-msg" / "r1" / "events.jsonl").of_type(
        "lesson_promoted")


def test_bans_that_is_a_folder_is_refused(nodes_dir, runs_root):
    node = make_node(nodes_dir, "n", judge_py="def judge(o, c): return 1, [], {}\n")
    (node / "BANS.md").unlink()
    (node / "BANS.md").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        feedback(find_node("n"))


def _feedback_worker(args):
    nodes, runs, window = args
    os.environ["DEEPLOOP_NODES"], os.environ["DEEPLOOP_RUNS"] = nodes, runs
    return [p.key for p in feedback(find_node("commit-msg"), window=window).promoted]


def test_two_feedback_processes_never_corrupt_bans(commit_node, runs_root):
    keys = [f"key-{i}" for i in range(30)]
    for i in range(4):
        record_run(runs_root, "commit-msg", f"r{i}", f"2026-01-0{i + 1}T00:00:00Z", [keys])
    args = (str(commit_node.parent), str(runs_root), 4)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_feedback_worker, [args] * 4)
    assert sorted(k for r in results for k in r) == sorted(keys)
    assert sorted(lesson_keys((commit_node / "BANS.md").read_text())) == sorted(keys)
    assert len((commit_node / "BANS.md").read_text().splitlines()) == 30
