"""One way to run a child program: its own session, its whole group stopped.

A child starts in a new session (``start_new_session``), so it leads a
process group of its own: a timeout, a cancel (Ctrl-C in the parent) or the
end of a run reaches whatever it started too (``sh -c``, ``npx``, a model
CLI's helpers), not just the program named. Stopping is SIGTERM to the group,
``grace`` seconds for the child to exit, then SIGKILL to the group.

The standard library's ``subprocess.run(timeout=...)`` kills only the child
it started and then waits for the pipes, which a surviving grandchild keeps
open; no library we already depend on does the group part, so these few
lines do it.
"""
from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass

GRACE = 3.0  # seconds from SIGTERM to SIGKILL
_KILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows has no SIGKILL
_GROUPS = hasattr(os, "killpg")                     # nor process groups


@dataclass
class Finished:
    """How a program run with ``run`` ended."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def tail(self, chars: int = 200) -> str:
        """The last line it wrote to stderr (what went wrong, usually)."""
        return (self.stderr.strip().splitlines() or ["(no stderr)"])[-1][:chars]


def start(argv: list[str], **popen) -> subprocess.Popen:
    """``argv`` started in a session and process group of its own (its pid
    is the group's id). ``popen`` goes to ``subprocess.Popen``; OSError when
    the program cannot start."""
    return subprocess.Popen(argv, start_new_session=True, **popen)


def signal_group(pgid: int, sig: int = _KILL) -> bool:
    """Send ``sig`` to the process group ``pgid``; False when the group is
    gone (or not ours to signal)."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop(proc: subprocess.Popen, grace: float = GRACE) -> int:
    """Stop ``proc`` and its group: SIGTERM, up to ``grace`` seconds for
    ``proc`` to exit, then SIGKILL to whatever of the group is left. Its exit
    code (negative: the signal that ended it)."""
    if not _GROUPS:
        proc.terminate()
    else:
        signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    if _GROUPS:
        signal_group(proc.pid)  # also what it started that outlived it
    else:
        proc.kill()
    return proc.wait()


def run(argv: list[str], *, input: str | None = None, timeout: float | None = None,
        env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None,
        grace: float = GRACE) -> Finished:
    """Run ``argv`` to its end, ``input`` on its stdin, and capture what it
    writes (UTF-8; bytes that are not are replaced). Past ``timeout`` seconds
    the group is stopped (``stop``) and the result says ``timed_out``; if the
    caller is interrupted the group is stopped too and the interrupt goes on.
    OSError when the program cannot start."""
    proc = start(list(argv), stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd,
                 encoding="utf-8", errors="replace")
    timed_out = False
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        stop(proc, grace)
        out, err = _leftover_output(proc, grace)
    except BaseException:
        stop(proc, grace)
        _leftover_output(proc, grace)
        raise
    return Finished(list(argv), proc.returncode, out or "", err or "", timed_out)


def _leftover_output(proc: subprocess.Popen, wait: float) -> tuple[str, str]:
    """What a stopped child wrote, without waiting on a pipe that something
    outside its group (a grandchild that left the session) keeps open."""
    try:
        return proc.communicate(timeout=wait)
    except subprocess.TimeoutExpired as exc:
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()
        return _text(exc.stdout), _text(exc.stderr)


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data or ""
