"""Warm starts: pay for ``import torch`` once per loop, not once per experiment.

Importing torch takes one to three seconds on a small CPU, a large share of
the harness overhead at a one-minute budget. A helper process (the
"zygote") imports it once and then forks one child per experiment; the child
starts its own session, moves to the workspace, takes the scrubbed
environment, sends its output to the log and runs ``train.py`` as
``__main__``. Each child is a fresh copy of the clean helper, so one
experiment cannot leak state into the next.

Protocol, one JSON object per line: the harness writes ``{"cwd", "env",
"log"}`` and passes the open log file itself over a Unix socket (the helper
may run in a sandbox that cannot see the run's logs folder); the helper
answers ``{"pid"}`` at once and ``{"pid", "returncode"}`` when the child
exits. Linux and macOS only (fork); callers fall back to a plain subprocess
when the helper cannot start.
"""
from __future__ import annotations

import importlib
import json
import os
import runpy
import select
import socket
import subprocess
import sys
import traceback
from functools import partial

from .interrupts import die_with_parent

# torch._dynamo: torch imports it lazily when the first optimizer is built (~1.2 s on CPU)
PRELOAD = ("torch", "torch.nn.functional", "torch._dynamo")
# not `-m`: the package imports this module, and runpy warns about re-running it
_ENTRY = ("import sys; from deeploop.experiment.warm import serve; "
          "serve(tuple(sys.argv[2:]), int(sys.argv[1]))")


def _child(request: dict, helper: int) -> None:
    """In the forked child: become the trainer; never returns."""
    code = 1
    try:
        os.setsid()
        die_with_parent(helper)  # the helper dies with the harness; its trainer with it
        log = request["log_fd"]
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["train.py"]
        sys.path[0] = request["cwd"]
        runpy.run_path("train.py", run_name="__main__")
        code = 0
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(preload: tuple[str, ...], fd: int) -> None:
    """The helper's main loop: import, then fork one trainer per request; each
    request's log file arrives as a file descriptor on the socket ``fd``."""
    channel = socket.socket(fileno=fd)
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the trainer will report the missing module itself
    try:
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            _, fds, _, _ = socket.recv_fds(channel, 1, 1)
            request["log_fd"] = fds[0]
            sys.stdout.flush()
            helper = os.getpid()
            pid = os.fork()
            if pid == 0:
                _child(request, helper)
            os.close(request["log_fd"])
            print(json.dumps({"pid": pid}), flush=True)
            _, status = os.waitpid(pid, 0)
            print(json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)}),
                  flush=True)
    except (BrokenPipeError, KeyboardInterrupt):
        os._exit(0)  # the harness is gone or stopping: nobody to answer, nothing to say


class WarmStarter:
    """The harness side: start the helper, launch trainers, read exit codes."""

    def __init__(self, python: str, env: dict[str, str], preload: tuple[str, ...] = PRELOAD,
                 sandbox=None, walls=None):
        """With a ``sandbox`` the helper (and so every trainer it forks) runs
        inside it, with ``walls`` (the workspace writable, validation hidden)."""
        self.channel, theirs = socket.socketpair()
        argv = [python, "-c", _ENTRY, str(theirs.fileno()), *preload]
        if sandbox is not None and walls is not None:
            argv = sandbox.wrap(argv, walls)
        self.proc = subprocess.Popen(
            argv, env=env, bufsize=0, pass_fds=(theirs.fileno(),),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
            preexec_fn=partial(die_with_parent, os.getpid()))
        theirs.close()
        self._buffer = b""

    def _message(self, timeout: float | None = None) -> dict | None:
        """The helper's next line, or None if none came within ``timeout``.
        Read with our own buffer so select() never misses a buffered line."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise OSError("the warm-start helper exited")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def wait_ready(self) -> None:
        if not (self._message() or {}).get("ready"):
            raise OSError("the warm-start helper did not start")

    def launch(self, cwd: str, env: dict[str, str], log: str) -> int:
        request = json.dumps({"cwd": cwd, "env": env, "log": log}) + "\n"
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            self.proc.stdin.write(request.encode("utf-8"))
            self.proc.stdin.flush()
            socket.send_fds(self.channel, [b"L"], [fd])
        finally:
            os.close(fd)
        message = self._message()
        while message.get("ready"):  # the helper announces itself once, first
            message = self._message()
        return int(message["pid"])

    def poll(self, timeout: float | None) -> int | None:
        """The trainer's exit code if it ended within ``timeout`` seconds."""
        message = self._message(timeout)
        return None if message is None else int(message["returncode"])

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
