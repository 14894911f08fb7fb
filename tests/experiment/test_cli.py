"""`deeploop experiment init|run` and `deeploop status` as a person uses them."""
from __future__ import annotations

import pytest

from deeploop.cli import main
from deeploop.experiment.results import read_results
from tests.helpers import OWN_RESULTS, OWN_WIDE_RESULTS, RECORDED_RESULTS, recordings

from .conftest import install_trainer


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, message", [
    (["experiment", "run", "--tag", "a/b"], "invalid tag 'a/b'"),
    (["experiment", "run", "--tag", ".."], "invalid tag '..'"),
    (["experiment", "init", "--tag", "bad..name"], "invalid tag 'bad..name'"),
    (["experiment", "run", "--tag", "x", "--budget", "0"], "--budget must be a positive number"),
    (["experiment", "run", "--tag", "x", "--budget", "-5"], "--budget must be a positive number"),
    (["experiment", "run", "--tag", "x", "--experiments", "-1"],
     "--experiments must be zero or more"),
    (["experiment", "run", "--tag", "x", "--hours", "-2"], "--hours must be a positive number"),
    (["experiment", "run", "--tag", "x", "--min-delta", "-0.1"],
     "--min-delta must be zero or more"),
    (["experiment", "run", "--tag", "x", "--max-usd", "0"], "--max-usd must be a positive number"),
    (["experiment", "run", "--tag", "x", "--proposer", "magic"], "unknown proposer 'magic'"),
    (["experiment", "run", "--tag", "x", "--data", "/no/such/file"], "--data path not found"),
    (["status", "--tag", "nope"], "no experiment tagged 'nope'"),
    (["status", "--results", "/no/such.tsv"], "results file not found"),
])
def test_bad_input_is_one_line_and_creates_nothing(runs_root, capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1
    assert err.startswith(f"deeploop {argv[0]}: ")
    assert not (runs_root / "experiment" / "x").exists()


def test_anthropic_without_a_key_is_refused_before_anything(runs_root, capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code, _, err = run_cli(capsys, "experiment", "run", "--tag", "x", "--proposer",
                           "anthropic:claude-sonnet-4-6")
    assert code == 2 and "needs ANTHROPIC_API_KEY" in err
    assert not (runs_root / "experiment" / "x").exists()


def test_init_then_existing_tag_needs_resume(runs_root, corpus_file, tmp_path, capsys):
    code, out, _ = run_cli(capsys, "experiment", "init", "--tag", "nov21",
                           "--data", str(corpus_file))
    assert code == 0 and "branch deeploop/nov21" in out
    run_dir = runs_root / "experiment" / "nov21"
    for name in ("workspace/train.py", "workspace/program.md", "results.tsv", "logs",
                 "events.jsonl", "data/train.bin", "experiment.json"):
        assert (run_dir / name).exists(), name
    code, _, err = run_cli(capsys, "experiment", "run", "--tag", "nov21")
    assert code == 2 and "already exists: use --resume" in err
    code, _, err = run_cli(capsys, "experiment", "init", "--tag", "nov21")
    assert code == 2 and "already exists" in err
    other = tmp_path / "other.txt"
    other.write_text(corpus_file.read_text().replace("value", "item"))
    code, _, err = run_cli(capsys, "experiment", "run", "--tag", "nov21", "--resume",
                           "--data", str(other))
    assert code == 2 and "is not the corpus experiment 'nov21' started with" in err


def test_dirty_workspace_is_refused_before_settings_change(runs_root, corpus_file, capsys):
    from deeploop.experiment.rundir import init_run
    run = init_run("dirty", str(corpus_file))
    ws = install_trainer(run)
    ws.write(ws.read() + "\n# a person's edit\n")
    before = {p: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    code, _, err = run_cli(capsys, "experiment", "run", "--tag", "dirty", "--resume",
                           "--experiments", "9", "--budget", "3", "--no-progress", "--no-report")
    assert code == 2 and "has uncommitted changes (train.py)" in err and err.count("\n") == 1
    assert {p: p.read_bytes() for p in run.path.iterdir() if p.is_file()} == before
    assert ws.read().endswith("# a person's edit\n")


@pytest.mark.parametrize("name", ["program.md", "train.py"])
def test_files_that_are_not_utf8_are_refused_untouched(runs_root, corpus_file, capsys, name):
    from deeploop.experiment.rundir import init_run
    run = init_run("latin1", str(corpus_file))
    ws = install_trainer(run)
    path = ws.path / name
    path.write_bytes(path.read_bytes() + "\n# note: caf\u00e9\n".encode("latin-1"))
    ws.commit("a person's note", (name,))
    before = {p: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    code, _, err = run_cli(capsys, "experiment", "run", "--tag", "latin1", "--resume",
                           "--experiments", "2", "--no-progress", "--no-report")
    assert code == 2 and err.count("\n") == 1 and f"{name} is not UTF-8 text" in err
    assert {p: p.read_bytes() for p in run.path.iterdir() if p.is_file()} == before


def test_results_without_a_val_bpb_column_are_refused_untouched(runs_root, corpus_file, capsys):
    from deeploop.experiment.rundir import init_run
    run = init_run("header", str(corpus_file))
    install_trainer(run)
    run.results_path.write_text("commit\tscore\tmemory_gb\tstatus\tdescription\n")
    before = {p: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    code, _, err = run_cli(capsys, "experiment", "run", "--tag", "header", "--resume",
                           "--experiments", "9", "--no-progress", "--no-report")
    assert code == 2 and err.count("\n") == 1 and "has no val_bpb column" in err
    assert {p: p.read_bytes() for p in run.path.iterdir() if p.is_file()} == before


@pytest.mark.parametrize("results, lines", [
    (OWN_RESULTS, ["experiments:  6 (baseline not counted)",
                   "best val_bpb: 2.052764 (commit 7e5f0a8: WIDTH 128 -> 160)",
                   "baseline:     2.143187  delta -0.090423 (-4.22%)",
                   "kept / discarded / crashed: 3 / 2 / 1"]),
    (OWN_WIDE_RESULTS, ["experiments:  5 (baseline not counted)",
                        "best val_bpb: 1.971122 (commit f39d51a: gradient clipping at 1.0, then LR",
                        "kept / discarded / crashed: 2 / 2 / 1"]),
    pytest.param(RECORDED_RESULTS, [
        "experiments:  4 (baseline not counted)",
        "best val_bpb: 1.807902 (commit 5efc7aa: reduce depth from 8 to 4)",
        "baseline:     2.667000  delta -0.859098 (-32.21%)",
        "kept / discarded / crashed: 3 / 1 / 0"], marks=recordings)])
def test_status_of_any_results_file(capsys, results, lines):
    code, out, _ = run_cli(capsys, "status", "--results", str(results))
    assert code == 0
    for line in lines:
        assert line in out


def test_run_measures_noise_then_status_and_resume_with_the_fake_trainer(runs_root, corpus_file, capsys):
    from deeploop.experiment.rundir import init_run
    run = init_run("cli", str(corpus_file))
    install_trainer(run)
    code, out, _ = run_cli(capsys, "experiment", "run", "--tag", "cli", "--resume",
                           "--experiments", "2", "--budget", "5", "--no-progress", "--no-report",
                           "--no-warm-start")
    assert code == 0 and "experiments:  2 (baseline not counted)" in out  # noise runs neither
    # the fake trainer is deterministic: the three noise runs agree exactly
    assert "noise:        none: 4 baseline runs scored the same; any gain at all is kept" in out
    code, out, _ = run_cli(capsys, "experiment", "run", "--tag", "cli", "--resume",
                           "--experiments", "3", "--no-progress",
                           "--no-report")  # earlier options are kept
    assert code == 0 and "experiments:  3" in out
    lines = run.event_log().path.read_text().splitlines()
    rounds = [e for e in lines if '"experiment_result"' in e]
    assert len(rounds) == 7 and '"round": 6' in rounds[-1]  # baseline, 3 noise runs, 3 experiments
    assert sum('"noise_estimated"' in e for e in lines) == 1  # not measured again on resume
    code, out, _ = run_cli(capsys, "status", "--tag", "cli")
    assert code == 0 and "experiments/hour" in out and "kept / discarded / crashed" in out
    rows = read_results(run.results_path).rows
    assert [r.description for r in rows[:4]] == [
        "baseline"] + [f"baseline (noise run {k}/3)" for k in (1, 2, 3)]
    assert len(rows) == 7 and not any(r.is_noise for r in rows[4:])


@pytest.mark.timeout(240)
def test_real_template_trains_end_to_end(runs_root, corpus_file, capsys):
    """The shipped train.py, a 2-second budget: a measured baseline, one real
    experiment, a summary the harness can read."""
    code, out, err = run_cli(capsys, "experiment", "run", "--tag", "real", "--experiments", "1",
                             "--budget", "2", "--data", str(corpus_file), "--no-progress",
                             "--no-report", "--noise-runs", "0")
    assert code == 0, err
    results = read_results(runs_root / "experiment" / "real" / "results.tsv")
    assert [r.description for r in results.rows][0] == "baseline"
    baseline = results.rows[0]
    # a real score, near or below 8 bits a byte (uniform) and above zero; this test
    # corpus repeats itself, so the window counts can bring it well under 1
    assert baseline.status == "keep" and 0.0 < baseline.val_bpb < 8.5
    log = (runs_root / "experiment" / "real" / "logs" / "000.log").read_text()
    # val_bpb is the harness's (score.py): in the sandbox train.py cannot see val.bin
    # and prints no val_bpb of its own
    for key in ("training_seconds:", "total_seconds:", "peak_vram_mb:",
                "mfu_percent:", "total_tokens_M:", "num_steps:", "num_params_M:", "depth:"):
        assert f"\n{key}" in log
    assert len(results.rows) == 2 and results.rows[1].status in ("keep", "discard", "crash")
