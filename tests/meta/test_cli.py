"""``deeploop meta`` and the meta flags of ``deeploop experiment run``, as a
user sees them: output, exit codes, and files written or not."""
from __future__ import annotations

import os

import pytest

from deeploop.cli import main
from deeploop.events import read_events
from deeploop.experiment.hypotheses import HYPOTHESES_FILE, parse_hypotheses

from tests.helpers import OWN_RESULTS, RECORDED_RESULTS, REPO, recordings

from .conftest import HEAD, of_type, run_loop


@pytest.mark.parametrize("results, lines, first", [
    (OWN_RESULTS, ["experiments: 6   keeps: 3   crashes: 1",
                   "best val_bpb: 2.052764 (commit 7e5f0a8: WIDTH 128 -> 160)"],
     "1. [M1.1] LR 0.006 -> 0.009"),
    pytest.param(RECORDED_RESULTS, [
        "experiments: 4   keeps: 3   crashes: 0",
        "best val_bpb: 1.807902 (commit 5efc7aa: reduce depth from 8 to 4)"],
        "1. [M1.1] DEPTH 4 -> 2", marks=recordings)])
def test_results_dry_run_on_a_results_file(capsys, monkeypatch, results, lines, first):
    monkeypatch.chdir(REPO)  # the path as a user types it, relative to the checkout
    before = sorted(p.name for p in results.parent.iterdir())
    assert main(["meta", "--results", os.path.relpath(results, REPO), "--dry-run"]) == 0
    out = capsys.readouterr().out
    for line in lines:
        assert line in out
    numbered = [line for line in out.splitlines() if line[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert [line[0] for line in numbered] == ["1", "2", "3", "4", "5"]
    assert numbered[0] == first
    assert "dry run: nothing written" in out
    assert sorted(p.name for p in results.parent.iterdir()) == before


def test_results_writes_hypotheses_beside_the_file_and_keeps_the_best_as_written(tmp_path,
                                                                                   capsys):
    results = tmp_path / "results.tsv"
    results.write_text(HEAD + "a1\t2.0\t1.0\tkeep\tbaseline\n"
                       "b2\t1.80790\t1.0\tkeep\tLR 0.003 -> 0.0045\n"
                       "c3\t0.000000\t0.0\tcrash\tLR 0.0045 -> 0.02\n")
    assert main(["meta", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "best val_bpb: 1.80790 (commit b2" in out and "crashes: 1" in out
    hyps = parse_hypotheses((tmp_path / HYPOTHESES_FILE).read_text())
    assert [h.id for h in hyps] == ["M1.1", "M1.2", "M1.3", "M1.4", "M1.5"]
    assert main(["meta", "--results", str(results), "--dry-run"]) == 0  # the next one is M2
    assert "1. [M2.1]" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["", HEAD])
def test_empty_or_header_only_results_are_nothing_to_analyse(tmp_path, capsys, text):
    results = tmp_path / "results.tsv"
    results.write_text(text)
    assert main(["meta", "--results", str(results)]) == 0
    assert "nothing to analyse" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.tsv"]


@pytest.mark.parametrize("header, missing", [("commit\tval_bpb\tdescription", "status"),
                                             ("commit\tstatus\tdescription", "val_bpb")])
def test_a_missing_column_is_named(tmp_path, capsys, header, missing):
    results = tmp_path / "results.tsv"
    results.write_text(header + "\na\tkeep\tx\n")
    assert main(["meta", "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deeploop meta: ") and f"has no {missing} column" in err
    assert err.count("\n") == 1


def test_missing_file_and_unknown_analyst(tmp_path, capsys):
    assert main(["meta", "--results", str(tmp_path / "nope.tsv")]) == 2
    assert "results file not found" in capsys.readouterr().err
    (tmp_path / "r.tsv").write_text(HEAD + "a\t2.0\t1\tkeep\tbaseline\n")
    assert main(["meta", "--results", str(tmp_path / "r.tsv"), "--analyst", "magic"]) == 2
    assert "unknown analyst 'magic'" in capsys.readouterr().err
    assert main(["meta", "--results", str(tmp_path / "r.tsv"),
                 "--analyst", "anthropic:claude-sonnet-4-6"]) == 2
    assert "needs ANTHROPIC_API_KEY" in capsys.readouterr().err


def test_tag_dry_run_writes_nothing_and_a_real_run_commits(meta_run, capsys):
    run_loop(meta_run, experiments=4, meta_interval=0)
    ws = meta_run.workspace()
    head, events = ws.head(), meta_run.events_path.read_text()
    assert main(["meta", "--tag", "m1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--- next-hypotheses.md ---" in out and "### Meta-analysis 1 (" in out
    assert "dry run: nothing written" in out and "1. [M1.1]" in out
    assert ws.head() == head and meta_run.events_path.read_text() == events
    assert not (ws.path / HYPOTHESES_FILE).exists()

    assert main(["meta", "--tag", "m1"]) == 0
    assert "meta-analysis 1: program.md v2, commit" in capsys.readouterr().out
    assert ws.git("log", "-1", "--format=%s").startswith("meta: analysis 1 after 4 experiments")
    assert of_type(read_events(meta_run.events_path).events, "meta_analysis")[0]["trigger"] \
        == "requested"


def test_tag_failures_exit_non_zero(meta_run, capsys):
    assert main(["meta", "--tag", "m1"]) == 0  # no results yet: nothing to analyse
    assert "nothing to analyse" in capsys.readouterr().out
    run_loop(meta_run, experiments=1, meta_interval=0)
    (meta_run.workspace().path / "program.md").write_text("dirty\n")
    assert main(["meta", "--tag", "m1"]) == 2
    assert "uncommitted changes" in capsys.readouterr().err
    assert main(["meta", "--tag", "nosuch"]) == 2


def test_experiment_run_wires_the_meta_flags(meta_run, capsys, monkeypatch):
    """The real command with a subprocess trainer (the fake train.py): two
    experiments and an analysis after the second."""
    code = main(["experiment", "run", "--tag", "m1", "--resume", "--experiments", "2",
                 "--budget", "5", "--no-warm-start", "--no-progress", "--meta-interval", "2",
                 "--meta-threshold", "0.5", "--noise-runs", "1"])
    assert code == 0, capsys.readouterr().err
    events = read_events(meta_run.events_path).events
    assert [e["experiments"] for e in of_type(events, "meta_analysis")] == [2]
    assert of_type(events, "noise_estimated")[0]["sigma"] == 0.0  # a deterministic trainer
    settings = meta_run.settings()
    assert (settings.meta_interval, settings.meta_threshold, settings.noise_runs,
            settings.analyst) == (2, 0.5, 1, "offline")
    assert main(["experiment", "run", "--tag", "m1", "--resume", "--meta-interval", "-1"]) == 2
    assert "--meta-interval must be zero or more" in capsys.readouterr().err


def test_status_counts_the_analyses(meta_run, capsys):
    run_loop(meta_run, experiments=12, meta_threshold=1.0)
    assert main(["status", "--tag", "m1"]) == 0
    assert "meta-analyses: 1 (last after 12 experiments; program.md v2)" in \
        capsys.readouterr().out
