"""Overnight batches: many sessions of one notebook, several at once.

One code path over ``concurrent.futures.Executor``: a local process pool by
default, or an existing Dask cluster (``distributed.Client(address)
.get_executor()``) — any Executor works. Each session runs in its own folder
``<batch folder>/<node>/<session id>/`` (so the batch folder is a runs root:
an experiment or research notebook keeps its run there, and ``DEEPLOOP_RUNS=
<batch folder> deeploop runs`` lists them) with its own kernel on private
ipc sockets.

A failing session is recorded and the others go on. Re-running the same
batch file skips every session whose ``session.json`` says passed, so an
interrupted night resumes where it stopped. ``index.html`` is rewritten as
each session finishes. With Dask, the batch folder must be on a file system
the workers share (paths are sent absolute).

The local pool starts workers with ``forkserver``, so a script that calls
``run_batch`` needs the usual ``if __name__ == "__main__":`` guard.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DeeploopError, InputError, require
from ..events import now_iso
from ..fileio import atomic_write_json, file_lock
from .grid import Grid, SessionSpec, load_grid
from .index import Row, collect_rows, count_states, write_index
from .session import SESSION_NOTEBOOK, SessionState, read_status, run_session, status_path

LOCK_FILE = ".batch.lock"


@dataclass
class BatchResult:
    grid: Grid
    index: Path
    ran: list[str]       # session ids executed this time
    skipped: list[str]   # already passed on an earlier run
    rows: list[Row]

    @property
    def counts(self) -> dict[str, int]:
        return count_states(self.rows)

    @property
    def all_passed(self) -> bool:
        return all(row.status == SessionState.PASSED for row in self.rows)


def run_batch(grid_path, *, workers: int | None = None, dask: str | None = None,
              executor: Executor | None = None, on_done: Callable[[dict], None] | None = None,
              root: Path | None = None) -> BatchResult:
    """Run every session of a batch file that has not passed yet.

    ``on_done`` is called in this process with each finished session's
    outcome (sid, status, headline, seconds, error) as it completes.
    """
    grid = load_grid(grid_path, root)
    if workers is None:
        workers = grid.workers or os.cpu_count() or 1
    workers = check_workers(workers)
    grid.out.mkdir(parents=True, exist_ok=True)
    with file_lock(grid.out / LOCK_FILE, wait=False, what=f"batch folder {grid.out}"):
        todo, skipped = split_done(grid)
        write_index(grid)
        if todo:
            # no idle workers: each one costs a process start and the imports
            with _executor(executor, min(workers, len(todo)), dask) as pool:
                for outcome in run_all(pool, grid, todo):
                    write_index(grid)
                    if on_done:
                        on_done(outcome)
        rows = collect_rows(grid)
        index = write_index(grid, rows)
    return BatchResult(grid, index, [s.sid for s in todo], skipped, rows)


def split_done(grid: Grid) -> tuple[list[SessionSpec], list[str]]:
    """(sessions to run, ids of sessions that already passed)."""
    todo, done = [], []
    for spec in grid.sessions:
        status = read_status(grid.session_dir(spec) / SESSION_NOTEBOOK) or {}
        (done.append(spec.sid) if status.get("status") == SessionState.PASSED
         else todo.append(spec))
    return todo, done


def run_all(pool: Executor, grid: Grid, todo: list[SessionSpec]):
    """Submit every session; yield outcomes in the order they finish."""
    futures = {pool.submit(run_task, task_for(grid, spec)): spec for spec in todo}
    for future in as_completed(futures):
        spec = futures[future]
        try:
            yield future.result()
        except Exception as exc:  # the worker itself broke (killed, unpicklable, ...)
            error = f"worker failed: {type(exc).__name__}: {exc}".splitlines()[0]
            record_worker_failure(grid, spec, error)
            yield {"sid": spec.sid, "status": str(SessionState.FAILED), "headline": None,
                   "seconds": None, "error": error}


def record_worker_failure(grid: Grid, spec: SessionSpec, error: str) -> None:
    """Mark a session whose worker broke as failed, so the index and a re-run see it.

    A status the session wrote itself (passed, or a cell's failure) is kept.
    """
    output = grid.session_dir(spec) / SESSION_NOTEBOOK
    status = read_status(output) or {"notebook": str(grid.notebook), "output": output.name,
                                     "parameters": spec.parameters}
    if status.get("status") not in (None, str(SessionState.RUNNING), str(SessionState.STALE)):
        return
    status.update(status=str(SessionState.FAILED), error=error, finished=now_iso())
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(status_path(output), status)


def task_for(grid: Grid, spec: SessionSpec) -> dict:
    """Plain data a worker process (or a Dask worker) can unpickle anywhere."""
    from ..childenv import passed_names
    return {"sid": spec.sid, "notebook": str(grid.notebook), "parameters": spec.parameters,
            "out": str(grid.session_dir(spec)), "timeout": grid.timeout,
            "pass_env": sorted(passed_names())}  # --pass-env, for kernels a worker starts


def run_task(task: dict) -> dict:
    """Run one session in a worker; never raises, so one failure stops nothing."""
    from ..childenv import pass_env
    out = Path(task["out"])
    error = None
    pass_env(*task.get("pass_env", ()))
    try:
        run_session(task["notebook"], task["parameters"], out=out, timeout=task["timeout"],
                    progress=False)
    except DeeploopError as exc:
        error = str(exc)
    except Exception as exc:  # a bug or an unexpected kernel error: record it, go on
        error = f"{type(exc).__name__}: {exc}"
    _export_session_html(out)
    status = read_status(out / SESSION_NOTEBOOK) or {}
    return {"sid": task["sid"], "status": status.get("status", str(SessionState.FAILED)),
            "headline": status.get("headline"), "seconds": status.get("seconds"),
            "error": status.get("error") or error}


def _export_session_html(run_dir: Path) -> None:
    """session.html (code shown) for the index to link when the run made no report."""
    from .html import export_html
    notebook = run_dir / SESSION_NOTEBOOK
    if notebook.exists() and not (run_dir / "report.html").exists():
        with contextlib.suppress(Exception):  # a view only: never fail the session for it
            export_html(notebook, run_dir / "session.html", hide_code=False, title=run_dir.name)


def check_workers(workers) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a whole number of at least 1, got {workers!r}")
    return workers


@contextlib.contextmanager
def _executor(given: Executor | None, workers: int, dask: str | None):
    if given is not None:
        yield given
    elif dask:
        with dask_executor(dask) as pool:
            yield pool
    else:
        # forkserver, not fork: the parent may hold threads (Dask, tqdm, a
        # notebook's event loop) that a forked child would inherit half-locked.
        context = multiprocessing.get_context("forkserver")
        # The fork server imports papermill & co once; each worker forked from
        # it starts warm instead of paying ~1 s of imports.
        context.set_forkserver_preload(["deeploop.notebook.batch", "papermill", "nbconvert"])
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


@contextlib.contextmanager
def dask_executor(address: str):
    """An Executor on an existing Dask cluster; the client closes afterwards."""
    distributed = require("distributed", "dask")
    try:
        client = distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address}: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                         address=address) from None
    try:
        # pure=False: two sessions with equal arguments are still two runs.
        yield client.get_executor(pure=False)
    finally:
        client.close()
