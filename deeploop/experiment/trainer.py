"""Run one training subprocess and read its summary.

The trainer runs in its own process group (so a signal reaches anything it
spawned), dies with the harness (``interrupts.die_with_parent``),
inside the sandbox (``sandbox.py``), with API keys and other
secrets scrubbed from its environment, its output going to ``logs/NNN.log``.

The harness keeps the clock: at ``budget + startup_allowance(budget)``
seconds after launch (``deadline``) the process group gets SIGTERM (the
template saves and exits), ``STOP_GRACE`` seconds later SIGKILL; a train.py
that ignores its budget thus gets no more wall time than that. It is also
killed when its process group's resident memory passes the cap. The
summary block (``---`` then ``key: value`` lines) is parsed from the log as
information; the score is the harness's (``score.py``).
"""
from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

from .. import procs
from ..childenv import child_env
from .interrupts import die_with_parent
from .evaluate import DEADLINE_ENV, MODEL_FILE, STOP_GRACE, startup_allowance
from .sandbox import NONE, Sandbox, Walls

SUMMARY_KEYS = ("val_bpb", "training_seconds", "total_seconds", "peak_vram_mb",
                "mfu_percent", "total_tokens_M", "num_steps", "num_params_M", "depth")
TAIL_LINES = 50
_SUMMARY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):\s*(\S+)\s*$")


def kill_timeout(budget: float) -> float:
    """Seconds after launch at which the harness stops a trainer (SIGTERM)."""
    return budget + startup_allowance(budget)


def default_memory_cap() -> int | None:
    """80 % of physical memory, in bytes; None where the OS will not say."""
    try:
        return int(0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def scrub_env(environ: dict[str, str]) -> dict[str, str]:
    """The environment minus anything that looks like a credential
    (``childenv``; names given with ``--pass-env`` go through)."""
    return child_env(environ)


def parse_summary(text: str) -> dict[str, float]:
    """``key: value`` lines after the last ``---`` line; only finite numbers."""
    lines = text.splitlines()
    marks = [i for i, line in enumerate(lines) if line.strip() == "---"]
    if not marks:
        return {}
    summary = {}
    for line in lines[marks[-1] + 1:]:
        match = _SUMMARY_LINE.match(line.strip())
        if not match:
            continue
        try:
            value = float(match.group(2))
        except ValueError:
            continue
        if math.isfinite(value):
            summary[match.group(1)] = value
    return summary


def find_fail(text: str) -> str | None:
    return next((line.strip() for line in text.splitlines() if line.startswith("FAIL")), None)


@dataclass
class TrainResult:
    returncode: int | None
    wall_seconds: float
    summary: dict[str, float] = field(default_factory=dict)
    killed: str | None = None          # "timeout" | "memory" when the harness killed it
    fail_line: str | None = None
    log_tail: list[str] = field(default_factory=list)
    stopped: bool = False              # the harness sent SIGTERM at the deadline
    deadline_s: float | None = None    # seconds after launch the trainer was allowed
    cpu_seconds: float | None = None   # CPU the trainer used (warm start only)

    def to_json(self) -> dict:
        return {"returncode": self.returncode, "wall_seconds": round(self.wall_seconds, 3),
                "killed": self.killed, "fail_line": self.fail_line, "stopped": self.stopped,
                "deadline_s": self.deadline_s, "cpu_seconds": self.cpu_seconds}


def _group(pgid: int):
    """(pid, rss pages) of every process in a process group (Linux /proc)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[2]) == pgid:
            yield int(entry.name), int(fields[21])


def group_rss(pgid: int) -> int:
    """Resident bytes of every process in a process group (Linux /proc)."""
    return sum(rss for _, rss in _group(pgid)) * os.sysconf("SC_PAGE_SIZE")


def _stop(pgid: int, spare_leader: bool) -> None:
    """SIGTERM to the trainer's process group. In a cold sandbox the leader
    is bwrap, which would die of it and take the trainer down at once
    (--die-with-parent): it is spared, so the trainer gets its grace to save."""
    if not spare_leader or not os.path.isdir("/proc"):
        procs.signal_group(pgid, signal.SIGTERM)
        return
    for pid, _ in list(_group(pgid)):
        if pid != pgid:
            try:
                os.kill(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass


def kill_orphan(pgid: int, workspace: Path) -> bool:
    """Kill a trainer left running by a harness that was killed: only if that
    process group still exists and its leader runs in ``workspace``."""
    try:
        cwd = os.readlink(f"/proc/{pgid}/cwd")
    except OSError:
        return False  # gone already (or no /proc to check: leave it be)
    if Path(cwd).resolve() != Path(workspace).resolve():
        return False
    return procs.signal_group(pgid)


class _Cold:
    """A fresh ``python train.py`` per experiment (in the sandbox, if any)."""

    def __init__(self, python, workspace, env, log_path, sandbox=NONE, data_dir=None):
        self.log = open(log_path, "wb")
        argv = sandbox.wrap([python, "train.py"], Walls(Path(workspace), data_dir))
        self.proc = procs.start(argv, cwd=workspace, env=env,
                                stdout=self.log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                preexec_fn=partial(die_with_parent, os.getpid()))
        self.pid = self.proc.pid

    def wait(self, timeout: float | None) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        self.log.close()


class _Warm:
    """A child forked by the warm-start helper (torch already imported)."""

    def __init__(self, starter, workspace, env, log_path):
        self.starter = starter
        starter.last_cpu_s = None
        self.pid = starter.launch(str(workspace), env, str(log_path))

    def wait(self, timeout: float | None) -> int | None:
        try:
            return self.starter.poll(timeout)
        except (OSError, ValueError):  # the helper died: its trainer goes too, as a crash
            procs.signal_group(self.pid)
            return -signal.SIGKILL

    def close(self) -> None:
        pass


def run_training(workspace: Path, log_path: Path, budget: float, data_dir: Path, *,
                 python: str = sys.executable, timeout: float | None = None,
                 grace: float = STOP_GRACE,
                 memory_cap: int | None = None, poll: float = 0.1,
                 clock: Callable[[], float] = time.monotonic,
                 extra_env: dict[str, str] | None = None,
                 on_start: Callable[[int], None] | None = None,
                 starter=None, sandbox: Sandbox = NONE) -> TrainResult:
    """Train once; never raises for anything the trainer does. ``timeout``
    (default ``kill_timeout(budget)``) is when SIGTERM comes, ``grace``
    seconds before SIGKILL. A model file left by an earlier run is removed
    first, so only what this run saved can be scored. With a ``starter``
    (warm.WarmStarter, already inside the sandbox) the trainer is forked
    from a helper that has torch imported; otherwise a fresh process."""
    timeout = kill_timeout(budget) if timeout is None else timeout
    prepare_counts(workspace, data_dir)  # corpus-only work: before the clock, cached per corpus
    env = trainer_env(budget, data_dir, extra_env)
    env[DEADLINE_ENV] = f"{time.time() + timeout:.3f}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    (Path(workspace) / MODEL_FILE).unlink(missing_ok=True)
    started = clock()
    trainer = None
    if starter is not None:
        try:
            trainer = _Warm(starter, workspace, env, log_path)
        except (OSError, ValueError):
            trainer = None  # the helper is gone: a fresh process still works
    trainer = trainer or _Cold(python, workspace, env, log_path, sandbox, data_dir)
    killed, returncode, stopped = None, None, False
    try:
        if on_start is not None:
            on_start(trainer.pid)
        watch_memory = memory_cap is not None and os.path.isdir("/proc")
        while returncode is None:
            returncode = trainer.wait(poll)
            if returncode is not None:
                break
            elapsed = clock() - started
            if elapsed > timeout and not stopped:
                stopped = True  # the deadline: save and go
                _stop(trainer.pid, spare_leader=isinstance(trainer, _Cold) and sandbox.active)
            elif stopped and elapsed > timeout + grace:
                killed = "timeout"
            elif watch_memory and group_rss(trainer.pid) > memory_cap:
                killed = "memory"
            if killed:
                procs.signal_group(trainer.pid)
                returncode = trainer.wait(None)
    except BaseException:  # Ctrl-C or a harness bug: never leave a trainer running
        procs.signal_group(trainer.pid)
        raise
    finally:
        trainer.close()
    procs.signal_group(trainer.pid)  # children it left behind go with it
    wall = clock() - started
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:  # killed (its helper died) before it opened its log
        text = ""
    cpu = getattr(trainer.starter, "last_cpu_s", None) if isinstance(trainer, _Warm) else None
    return TrainResult(returncode, wall, parse_summary(text), killed, find_fail(text),
                       text.splitlines()[-TAIL_LINES:], stopped, round(timeout, 3), cpu)


def prepare_counts(workspace: Path, data_dir: Path) -> None:
    """The count tables train.py's COUNT_MAX_ORDER asks for, built once per
    corpus and order (deeploop.experiment.counts); a failure here is left for
    the trainer to meet and report in its own log."""
    from .counts import prepare_for
    try:
        prepare_for(workspace, data_dir)
    except Exception:  # noqa: BLE001 - torch missing, disk full: the trainer says so itself
        pass


def trainer_env(budget: float, data_dir: Path, extra: dict[str, str] | None = None) -> dict:
    env = scrub_env(dict(os.environ))
    env.update({"DEEPLOOP_TIME_BUDGET": f"{budget:g}", "DEEPLOOP_DATA_DIR": str(data_dir),
                "PYTHONUNBUFFERED": "1", **(extra or {})})
    return env
