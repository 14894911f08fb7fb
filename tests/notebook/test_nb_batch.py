"""Batches: parallel sessions, failures isolated, resumable, an index, Dask."""
from __future__ import annotations

import html
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.notebook.nbhelpers import DATA, REPO, external_links

from deeploop.errors import InputError, RunLocked
from deeploop.fileio import file_lock
from deeploop.notebook import batch as batch_module
from deeploop.notebook.batch import LOCK_FILE, run_batch
from deeploop.notebook.grid import load_grid
from deeploop.notebook.session import read_status

GRID = f"""\
notebook: {DATA / "params.ipynb"}
out: out
parameters: {{rate: 0.5}}
sessions:
  - {{mode: ok, experiments: 2}}
  - {{mode: raise}}
  - {{mode: exit}}
  - {{mode: ok, experiments: 5}}
"""


def statuses(result) -> dict[str, str]:
    grid = result.grid
    return {s.varying.get("mode") + str(s.varying.get("experiments", "")): row.status
            for s, row in zip(grid.sessions, result.rows)}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    (folder / "grid.yaml").write_text(GRID)
    seen = []
    result = run_batch(folder / "grid.yaml", workers=2, on_done=seen.append)
    return folder, result, seen


def test_one_failure_does_not_stop_the_others(first_run):
    _, result, seen = first_run
    assert statuses(result) == {"ok2": "passed", "raise": "failed", "exit": "kernel_died",
                                "ok5": "passed"}
    assert sorted(o["sid"] for o in seen) == sorted(s.sid for s in result.grid.sessions)
    assert not result.all_passed and result.skipped == []


def test_each_session_has_its_folder_status_and_headline(first_run):
    _, result, _ = first_run
    by_mode = {s.varying.get("mode") + str(s.varying.get("experiments", "")): s
               for s in result.grid.sessions}
    ok = result.grid.session_dir(by_mode["ok5"])
    assert read_status(ok / "session.ipynb")["headline"] == {"label": "score", "value": 2.5}
    assert (ok / "written.txt").read_text() == "5"  # run_dir was the session's folder
    failed = read_status(result.grid.session_dir(by_mode["raise"]) / "session.ipynb")
    assert "ValueError: bad mode raise" in failed["error"]


def test_index_lists_parameters_status_headline_and_links(first_run):
    _, result, _ = first_run
    page = result.index.read_text()
    for spec, row in zip(result.grid.sessions, result.rows):
        assert html.escape(spec.sid) in page
        assert f'href="{result.grid.node}/{html.escape(spec.sid)}/session.html"' in page
        assert (result.grid.session_dir(spec) / "session.html").is_file()
    assert "mode = raise" in page and "experiments = 5" in page
    assert "score: <b>2.5</b>" in page and "score: <b>1</b>" in page
    assert 'class="s-kernel_died"' in page and "bad mode raise" in page
    assert "2 passed" in page and "1 failed" in page
    assert external_links(page) == []


def test_session_pages_are_self_contained(first_run):
    _, result, _ = first_run
    page = (result.grid.session_dir(result.grid.sessions[0]) / "session.html").read_text()
    assert "score: 1" in page and external_links(page) == []


def test_rerun_skips_passed_sessions_and_retries_the_rest(first_run):
    folder, first, _ = first_run
    passed = [s for s, row in zip(first.grid.sessions, first.rows) if row.status == "passed"]
    before = {s.sid: (first.grid.session_dir(s) / "session.ipynb").stat().st_mtime_ns
              for s in passed}
    again = run_batch(folder / "grid.yaml", workers=2)
    assert sorted(again.skipped) == sorted(before)
    assert len(again.ran) == 2 and statuses(again) == statuses(first)
    for sid, mtime in before.items():
        assert (again.grid.out / again.grid.node / sid / "session.ipynb").stat().st_mtime_ns == mtime
    for sid in again.ran:  # the earlier failed attempt is kept beside the new one
        assert (again.grid.out / again.grid.node / sid / "session.attempt-1.json").is_file()


def test_a_batch_folder_in_use_is_refused(tmp_path):
    (tmp_path / "grid.yaml").write_text(GRID)
    out = load_grid(tmp_path / "grid.yaml").out
    out.mkdir(parents=True)
    with file_lock(out / LOCK_FILE):
        with pytest.raises(RunLocked, match="in use by another process"):
            run_batch(tmp_path / "grid.yaml")


def test_a_broken_worker_is_recorded_as_a_failed_session(tmp_path, monkeypatch):
    (tmp_path / "grid.yaml").write_text(GRID)

    def broken(task):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(batch_module, "run_task", broken)
    with ThreadPoolExecutor(2) as pool:
        result = run_batch(tmp_path / "grid.yaml", executor=pool)
    assert {row.status for row in result.rows} == {"failed"}
    assert all("worker failed: RuntimeError: worker lost" in row.error for row in result.rows)


@pytest.mark.parametrize("workers", [0, -1, 1.5])
def test_bad_worker_counts(tmp_path, workers):
    (tmp_path / "grid.yaml").write_text(GRID)
    with pytest.raises(InputError, match="workers must be a whole number"):
        run_batch(tmp_path / "grid.yaml", workers=workers)


def test_unreachable_dask_address_is_one_line(tmp_path):
    (tmp_path / "grid.yaml").write_text(GRID)
    with pytest.raises(InputError, match="cannot reach the Dask scheduler at nonsense://x"):
        run_batch(tmp_path / "grid.yaml", dask="nonsense://x")


def test_same_batch_runs_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    # As after a session in this thread: jupyter_core holds a loop in our
    # context, which Dask copies into its worker threads.
    jupyter_core_utils = pytest.importorskip("jupyter_core.utils")
    jupyter_core_utils.ensure_event_loop()
    (tmp_path / "grid.yaml").write_text(
        f"notebook: {DATA / 'params.ipynb'}\ngrid: {{experiments: [3, 4]}}\n")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        result = run_batch(tmp_path / "grid.yaml", dask=cluster.scheduler_address)
    assert [row.status for row in result.rows] == ["passed", "passed"], [r.error for r in result.rows]
    assert sorted(row.headline["value"] for row in result.rows) == [1.5, 2.0]
    assert "score: <b>2</b>" in result.index.read_text()


def test_a_batch_of_experiment_sessions_keeps_each_run_in_the_batch_folder(tmp_path):
    """The example experiment notebook in a batch: each session is an experiment
    run under <batch folder>/experiment/<session id>, readable like any other."""
    from deeploop.runs import list_runs
    (tmp_path / "grid.yaml").write_text(
        f"notebook: {REPO / 'notebooks' / 'experiment_session.ipynb'}\nout: out\n"
        "parameters: {experiments: 0, budget: 1.0, report: false, meta_interval: 0}\n"
        "sessions:\n  - {seed: 3}\n")
    result = run_batch(tmp_path / "grid.yaml", workers=1)
    assert result.all_passed, [row.error for row in result.rows]
    spec = result.grid.sessions[0]
    folder = result.grid.session_dir(spec)
    assert folder == tmp_path / "out" / "experiment" / spec.sid
    assert (folder / "results.tsv").read_text().count("\n") == 5  # header, the baseline and its 3 noise runs
    assert [(r.node, r.run_id) for r in list_runs(root=tmp_path / "out")] == \
        [("experiment", spec.sid)]
    assert f'href="experiment/{html.escape(spec.sid)}/session.html"' in result.index.read_text()
