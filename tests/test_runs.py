import re
import subprocess
import sys
from pathlib import Path

import pytest

from deeploop.creating import NameTaken
from deeploop.errors import InputError, NotFound
from deeploop.runs import (creating_run_dir, list_runs, load_run, new_run_id, resolve_run,
                           run_dir_for, validate_run_id)
from tests.helpers import LEGACY, OWN_RUNS, recordings


@pytest.mark.parametrize("bad", ["", "  ", "a/b", "..", "x..y", "../up", ".hidden", "a b", "a\\b"])
def test_invalid_run_ids_are_refused(bad):
    with pytest.raises(InputError):
        validate_run_id(bad)


def test_new_run_id_has_node_stamp_and_suffix():
    assert re.fullmatch(r"commit-msg-\d{8}T\d{6}Z-[0-9a-f]{6}", new_run_id("commit-msg"))


def make_run(run_id: str) -> Path:
    final = run_dir_for("n", run_id)
    with creating_run_dir(final) as build:
        (build / "events.jsonl").write_text("")
    return final


def test_existing_run_id_is_refused_and_nothing_is_created(runs_root):
    make_run("r1")
    with pytest.raises(InputError, match="already exists"):
        run_dir_for("n", "r1")
    with pytest.raises(InputError):
        run_dir_for("n", "../escape")
    assert sorted(p.name for p in (runs_root / "n").iterdir()) == ["r1"]


def test_a_run_appears_whole_and_the_second_creator_is_refused(runs_root):
    final = run_dir_for("n", "r2")
    with pytest.raises(NameTaken, match="'r2' was created by another process"):
        with creating_run_dir(final) as first:
            (first / "events.jsonl").write_text("first\n")
            assert not final.exists()  # nothing at the final place while building
            with creating_run_dir(final) as second:
                (second / "events.jsonl").write_text("second\n")
    assert (final / "events.jsonl").read_text() == "second\n"
    assert sorted(p.name for p in (runs_root / "n").iterdir()) == ["r2"]


def test_a_failed_build_leaves_nothing(runs_root):
    with pytest.raises(RuntimeError):
        with creating_run_dir(run_dir_for("n", "r3")) as build:
            (build / "seed.md").write_text("s")
            raise RuntimeError("half-way")
    assert not (runs_root / "n").exists() or list((runs_root / "n").iterdir()) == []


def test_list_runs_reads_the_projects_own_runs_in_start_order():
    records = list_runs("commit-msg", root=OWN_RUNS)
    assert [r.final_score for r in records] == [0.25, 0.25, 0.75, 0.75, 1.0, 1.0]
    assert [r.status for r in records] == ["hard_cap"] * 4 + ["passed"] * 2
    assert records[0].started == "2026-12-03T19:05:08.534759Z"
    ids = [r.run_id for r in records]
    assert ids != sorted(ids)  # the ids' random suffixes do not decide the order


def test_runs_show_as_reprs_until_the_notebook_layer_installs_its_tables():
    code = ("import sys; from pathlib import Path; from deeploop.runs import RunList, list_runs; "
            f"runs = list_runs('commit-msg', root=Path({str(OWN_RUNS)!r})); "
            "assert 'deeploop.notebook' not in sys.modules and runs._repr_html_() is None; "
            "assert runs[0]._repr_html_() is None and repr(RunList()) == '(no runs)'; "
            "print(repr(runs))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 6 and all(line.startswith("RunRecord(commit-msg/") for line in lines)


@recordings
def test_list_runs_reads_recorded_reference_runs_in_start_order():
    records = list_runs("commit-msg", root=LEGACY)
    assert [r.final_score for r in records] == [0.25, 0.25, 0.75, 0.75, 1.0, 1.0]
    assert [r.status for r in records] == ["hard_cap"] * 4 + ["passed"] * 2
    assert records[0].started == "2026-05-22T06:15:05Z"


@pytest.mark.parametrize("root, name, rounds, score", [
    (OWN_RUNS, "legacy-branch", 6, 1.0), (OWN_RUNS, "legacy-open", 3, 0.0),
    pytest.param(LEGACY, "smoke-branch", 5, 1.0, marks=recordings)])
def test_runs_without_outcome_are_unfinished_with_rounds_from_events(root, name, rounds, score):
    record = load_run(root / "deeper" / name)
    assert record.status == "unfinished" and record.rounds == rounds
    assert record.final_score == score


@pytest.mark.parametrize("root, name", [(OWN_RUNS, "legacy-chain"),
                                        pytest.param(LEGACY, "smoke-chain", marks=recordings)])
def test_resolve_run_by_id_or_path(runs_root, root, name):
    assert resolve_run(name, root=root) == root / "deeper" / name
    assert resolve_run(str(root / "deeper" / name)) == root / "deeper" / name
    with pytest.raises(NotFound):
        resolve_run("missing-run")
    with pytest.raises(InputError, match="not a run folder"):
        resolve_run(str(runs_root))


def test_read_outcome_reports_a_missing_torn_or_unreadable_file_without_raising(tmp_path):
    from deeploop.runs import read_outcome
    assert read_outcome(tmp_path) == (None, None)
    (tmp_path / "outcome.json").write_text('{"status": "pa')
    assert read_outcome(tmp_path)[1].endswith("not valid JSON (Unterminated string starting at: "
                                              "line 1 column 12 (char 11))")
    (tmp_path / "outcome.json").unlink()
    (tmp_path / "outcome.json").mkdir()  # a folder where the file should be
    outcome, problem = read_outcome(tmp_path)
    assert outcome is None and "outcome.json: cannot be read" in problem


def test_an_experiment_without_a_readable_outcome_counts_as_interrupted(tmp_path):
    from deeploop.meta.opening import interrupted
    from deeploop.experiment.rundir import ExperimentRun
    from deeploop.events import EventLog
    run = ExperimentRun(tmp_path / "experiment" / "t", "t")
    run.path.mkdir(parents=True)
    EventLog(run.events_path, "t", "experiment").emit("experiment_run_started")
    assert interrupted(run)
    (run.path / "outcome.json").write_text("{torn")
    assert interrupted(run)
    (run.path / "outcome.json").write_text('{"status": "passed", "run_number": 1}')
    assert not interrupted(run)
    (run.path / "outcome.json").write_text('{"status": "aborted", "run_number": 1}')
    assert interrupted(run)
