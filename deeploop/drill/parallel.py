"""Run a few jobs in parallel against one deadline; stop and classify stragglers.

Each job runs in its own process and process group, so a job that misses
the deadline is really stopped, together with any program it started (a
``command:`` model's subprocess), rather than left running in a thread.
The processes come from a fork server, not ``fork``: the caller may hold
threads (a notebook's event loop, an HTTP client's pool, tqdm's monitor)
that a forked child would inherit half-locked. A job therefore travels
pickled, with ``cloudpickle`` so closures over a model still do; one that
cannot be pickled is an ``error`` naming why. Outcomes are classified with
a closed vocabulary:

- ``completed``: returned substantive text;
- ``timeout``: still running at the deadline (killed);
- ``error``: raised, or died without an answer;
- ``empty``: returned nothing;
- ``incomplete``: returned ``INVESTIGATION_INCOMPLETE: <reason>``.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Callable

import cloudpickle

from .. import procs
from ..models.base import Completion
from ..usage import Usage

INCOMPLETE = "INVESTIGATION_INCOMPLETE"
SNIPPET_CHARS = 200
WARM_IF_LOADED = ("anthropic",)


@dataclass
class JobResult:
    name: str
    status: str                    # completed | timeout | error | empty | incomplete
    text: str = ""
    seconds: float = 0.0
    usage: Usage = field(default_factory=Usage)
    detail: str = ""               # why it failed, one line

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    @property
    def snippet(self) -> str:
        return " ".join((self.detail or self.text).split())[:SNIPPET_CHARS]


def classify(text: str) -> str:
    """Pure: the status of a job that returned ``text``."""
    stripped = (text or "").strip()
    if not stripped:
        return "empty"
    if stripped.upper().startswith(INCOMPLETE):
        return "incomplete"
    return "completed"


def _child(payload: bytes, env: dict[str, str], cwd: str, conn) -> None:
    os.setpgid(0, 0)  # own group: a kill reaches whatever this job starts
    # the server was started once, with the environment and folder of that
    # moment: a job sees the caller's as they are now, as a forked child would
    os.environ.clear()
    os.environ.update(env)
    try:
        os.chdir(cwd)
        result = pickle.loads(payload)()
        if isinstance(result, Completion):
            conn.send(("done", result.text or "", result.usage))
        else:
            conn.send(("done", str(result or ""), Usage()))
    except BaseException as exc:  # report, never hang the parent
        # a failed model call still cost what its ModelError carries
        conn.send(("error", _one_line(exc), getattr(exc, "usage", None) or Usage()))
    finally:
        conn.close()


def run_parallel(jobs: dict[str, Callable[[], Completion | str]], deadline: float,
                 clock: Callable[[], float] = time.monotonic) -> list[JobResult]:
    """Run ``jobs`` at once; results in the jobs' order, each classified."""
    ctx = multiprocessing.get_context("forkserver")
    # The server imports these once (when this process first starts it) and
    # each job's process starts warm from it; the SDK only when a model here
    # uses it (seconds of import per job otherwise).
    ctx.set_forkserver_preload(["deeploop.drill.fanout", "deeploop.drill.verify",
                                *[name for name in WARM_IF_LOADED if name in sys.modules]])
    running, results, started = {}, {}, clock()
    try:
        for name, job in jobs.items():
            try:
                payload = cloudpickle.dumps(job)
            except Exception as exc:  # a lock, an open client: it cannot travel
                results[name] = JobResult(name, "error", detail="cannot hand the job to its "
                                          f"process: {_one_line(exc)}")
                continue
            receiver, sender = ctx.Pipe(duplex=False)
            process = ctx.Process(target=_child, daemon=True,
                                  args=(payload, dict(os.environ), os.getcwd(), sender))
            process.start()
            sender.close()
            running[receiver] = (name, process)
        started = clock()  # the deadline is the jobs' time, not the server's start-up
        while running:
            remaining = started + deadline - clock()
            if remaining <= 0:
                break
            for conn in wait(list(running), timeout=remaining):
                name, process = running.pop(conn)
                results[name] = _receive(conn, name, process, clock() - started)
    finally:  # the deadline passed, or we were interrupted: stop whoever is left
        for conn, (name, process) in running.items():
            _kill(process)
            conn.close()
            results[name] = JobResult(name, "timeout", seconds=clock() - started,
                                      detail=f"no answer within {deadline:g} s; stopped")
    return [results[name] for name in jobs]


def _receive(conn, name: str, process, seconds: float) -> JobResult:
    try:
        kind, text, usage = conn.recv()
    except (EOFError, OSError):
        process.join(1)
        return JobResult(name, "error", seconds=seconds,
                         detail=f"exited with code {process.exitcode} without an answer")
    finally:
        conn.close()
    process.join(5)
    if kind == "error":
        return JobResult(name, "error", seconds=seconds, usage=usage, detail=text)
    status = classify(text)
    detail = text.strip() if status == "incomplete" else ("returned nothing" if status == "empty"
                                                          else "")
    return JobResult(name, status, text.strip(), seconds, usage, detail)


def _kill(process) -> None:
    """The job's group; just the process if it has not made its group yet."""
    if not procs.signal_group(process.pid):
        process.kill()
    process.join(5)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]
