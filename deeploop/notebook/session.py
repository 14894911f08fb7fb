"""A headless session: one papermill execution of a parameterised notebook.

Where the executed notebook goes (the first rule that applies):

1. ``out`` ending in ``.ipynb``: that file; its folder is the run folder.
2. ``out`` otherwise: the run folder; the notebook is ``<out>/session.ipynb``.
3. a ``run_dir`` parameter: that folder, ``session.ipynb`` inside it.
4. ``<runs root>/<node>/<run id>/session.ipynb``, where ``node`` is the
   notebook's ``metadata.deeploop.node`` (else its file name) and the run id
   is the ``tag`` parameter when given (else a fresh id).

A notebook that declares a ``run_dir`` parameter receives that folder
(absolute, already created) and should keep its run's files there.

Beside the notebook, ``session.json`` records the parameters, the status
(running, passed, failed, timed_out, kernel_died, interrupted), times, the
headline figure and the one-line error. papermill saves the notebook as
cells finish, so a failure or a kill leaves the partial notebook in place.
A session never overwrites one that passed; an earlier failed attempt is
kept as ``session.attempt-N.ipynb``/``.json``.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import DeeploopError, InputError, require
from ..strenum import StrEnum
from ..events import now_iso
from ..fileio import atomic_write_json
from ..runs import new_run_id, runs_root, validate_run_id
from .failures import SessionFailed, explain
from ..liveness import Heartbeat, check as check_liveness
from .headline import headline_from_run, read_headline
from .kernel import check_kernel, kernel_manager_class, with_own_event_loop
from .parameters import load_notebook, node_of, read_parameters, validate

SESSION_NOTEBOOK = "session.ipynb"


class SessionState(StrEnum):
    RUNNING = "running"
    STALE = "stale"      # recorded running by a process that died (SIGKILL, power loss)
    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    KERNEL_DIED = "kernel_died"
    INTERRUPTED = "interrupted"


@dataclass
class SessionPlan:
    """Everything decided before a kernel starts; bad input fails here."""

    notebook: Path
    output: Path
    run_dir: Path
    parameters: dict
    kernel: str
    timeout: int | None = None

    @property
    def status_path(self) -> Path:
        return status_path(self.output)


@dataclass
class SessionResult:
    run_dir: Path
    output: Path
    state: SessionState
    parameters: dict
    seconds: float
    headline: dict | None = None


def run_session(notebook, params: dict | None = None, out=None, timeout=None,
                progress: bool = True, *, from_cli=frozenset(), kernel_name=None,
                root: Path | None = None) -> SessionResult:
    """Execute ``notebook`` with ``params``; raise SessionFailed if a cell fails.

    ``from_cli`` names parameters given as command-line strings, converted
    by the parameters cell's types. Returns where everything went.
    """
    plan = plan_session(notebook, params or {}, out, timeout, from_cli=frozenset(from_cli),
                        kernel_name=kernel_name, root=root)
    prepare_output(plan)
    return execute(plan, progress=progress)


def plan_session(notebook, params: dict, out=None, timeout=None, *, from_cli=frozenset(),
                 kernel_name=None, root: Path | None = None) -> SessionPlan:
    path = Path(notebook)
    if path.suffix != ".ipynb":
        raise InputError(f"not a notebook (expected a .ipynb file): {path}", path=str(path))
    nb = load_notebook(path)
    declared = read_parameters(nb)
    if params and not declared:
        raise InputError(f"{path} has no cell tagged 'parameters', so it takes no parameters")
    checked = validate(declared, params, from_cli=from_cli, where=str(path))
    run_dir, output = locate(path, nb, checked, out, root)
    if output.resolve() == path.resolve():
        raise InputError(f"the executed notebook would replace its source: {output}")
    if "run_dir" in declared and not checked.get("run_dir"):
        checked["run_dir"] = str(run_dir.resolve())
    return SessionPlan(path, output, run_dir, checked, check_kernel(nb, kernel_name),
                       check_timeout(timeout))


def locate(path: Path, nb, params: dict, out, root: Path | None) -> tuple[Path, Path]:
    """(run folder, executed notebook path) by the rules in the module docstring."""
    if out:
        out = Path(out)
        if out.suffix == ".ipynb":
            return out.parent, out
        return out, out / SESSION_NOTEBOOK
    if params.get("run_dir"):
        run_dir = Path(params["run_dir"])
        return run_dir, run_dir / SESSION_NOTEBOOK
    node = node_of(path, nb)
    tag = params.get("tag")
    run_id = validate_run_id(tag, "tag") if isinstance(tag, str) and tag else new_run_id(node)
    run_dir = (root or runs_root()) / node / run_id
    return run_dir, run_dir / SESSION_NOTEBOOK


def check_timeout(timeout) -> int | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not math.isfinite(timeout) or timeout <= 0:
        raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return int(math.ceil(timeout))  # papermill insists on an int


def status_path(output: Path) -> Path:
    return Path(output).with_suffix(".json")


def heartbeat_path(output: Path) -> Path:
    """``session.running.json``: held (pid, host, heartbeat) while the session runs."""
    return Path(output).with_suffix(".running.json")


def read_status(output: Path) -> dict | None:
    """A session's session.json, or None when there is none (or it is unreadable).

    A session recorded ``running`` whose process is gone (its heartbeat file
    says so, see ``liveness``) is read as ``stale``, with the reason as its error."""
    import json
    try:
        data = json.loads(status_path(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("status") == SessionState.RUNNING:
        live = check_liveness(heartbeat_path(output))
        if live is not None and live.stale:
            data.update(status=str(SessionState.STALE),
                        error=f"stopped without finishing: {live.reason}")
    return data


def prepare_output(plan: SessionPlan) -> None:
    """Make the run folder; refuse to redo a passed session; keep a failed one."""
    previous = read_status(plan.output)
    if previous and previous.get("status") == SessionState.PASSED:
        raise InputError(f"session already passed: {plan.output} "
                         f"(finished {previous.get('finished', '?')}); "
                         f"choose another --out or tag", path=str(plan.output))
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    if plan.output.exists() or plan.status_path.exists():
        archive_attempt(plan.output)


def archive_attempt(output: Path) -> int:
    """Rename an earlier attempt's files to ``<stem>.attempt-N.*``; return N."""
    stem, folder = output.stem, output.parent
    n = 1
    while any((folder / f"{stem}.attempt-{n}{s}").exists() for s in (".ipynb", ".json")):
        n += 1
    for suffix in (".ipynb", ".json", ".kernel.log"):
        src = folder / f"{stem}{suffix}"
        if src.exists():
            os.replace(src, folder / f"{stem}.attempt-{n}{suffix}")
    return n


def execute(plan: SessionPlan, progress: bool = True) -> SessionResult:
    """Run the planned session, keeping session.json true at every step."""
    started, clock = now_iso(), time.monotonic()
    record = {"notebook": str(plan.notebook.resolve()), "output": plan.output.name,
              "parameters": plan.parameters, "kernel": plan.kernel, "timeout": plan.timeout,
              "status": str(SessionState.RUNNING), "started": started}
    with Heartbeat(heartbeat_path(plan.output)):  # written before session.json says running
        atomic_write_json(plan.status_path, record)
        try:
            execute_notebook(plan.notebook, plan.output, plan.parameters, kernel=plan.kernel,
                             timeout=plan.timeout, progress=progress)
        except BaseException as exc:
            state = exc.state if isinstance(exc, SessionFailed) else _state_of(exc)
            _finish(plan, record, clock, state, exc)
            raise
        headline = read_headline(load_notebook(plan.output)) or headline_from_run(plan.run_dir)
        record["headline"] = headline
        seconds = _finish(plan, record, clock, SessionState.PASSED, None)
    return SessionResult(plan.run_dir, plan.output, SessionState.PASSED, plan.parameters,
                         seconds, headline)


def execute_notebook(notebook: Path, output: Path, parameters: dict, *, kernel: str,
                     timeout: int | None = None, progress: bool = False) -> None:
    """papermill on a private ipc kernel; a failure becomes a SessionFailed.

    The kernel's own stdout/stderr go to ``<output stem>.kernel.log``, which
    is removed again when empty.
    """
    pm = require("papermill", "notebook")
    _quiet_papermill_logger()
    log_path = Path(output).with_suffix(".kernel.log")
    try:
        with_own_event_loop(
            pm.execute_notebook, str(notebook), str(output), parameters=parameters,
            kernel_name=kernel, progress_bar=progress, execution_timeout=timeout,
            kernel_manager_class=kernel_manager_class(log_path))
    except Exception as exc:
        failure = explain(exc, Path(output), timeout)
        if failure is None:
            raise
        raise failure from None
    finally:
        _drop_if_empty(log_path)


def _state_of(exc: BaseException) -> SessionState:
    return SessionState.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else SessionState.FAILED


def _finish(plan: SessionPlan, record: dict, clock: float, state, error) -> float:
    seconds = round(time.monotonic() - clock, 3)
    if isinstance(error, BaseException) and not isinstance(error, DeeploopError):
        error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if error is not None:
        error = (str(error).strip().splitlines() or ["unknown error"])[0]
    record.update(status=str(state), finished=now_iso(), seconds=seconds, error=error)
    atomic_write_json(plan.status_path, record)
    return seconds


def _quiet_papermill_logger() -> None:
    """nbclient logs "Kernel died..." through papermill's logger, which has no
    handler, so Python prints it raw; our one-line error already says it."""
    import logging
    logger = logging.getLogger("papermill")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def _drop_if_empty(path: Path) -> None:
    try:
        if path.stat().st_size == 0:
            path.unlink()
    except FileNotFoundError:
        pass

