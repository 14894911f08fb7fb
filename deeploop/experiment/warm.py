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
answers ``{"pid"}`` at once and ``{"pid", "returncode", "cpu_s"}`` when the
child exits (its CPU seconds: what it cost, whatever the machine's load). Linux and macOS only (fork); callers fall back to a plain subprocess
when the helper cannot start.

The same helper serves the harness's scorer (``kind`` "score", ``SCORE_PRELOAD``):
a second helper, in a sandbox with the workspace read-only, forks one child
per experiment that runs ``score.child_main`` on two pipes passed with the log
(the protocol's input and output). It saves the interpreter's start and
``import torch`` per experiment, the largest share of scoring after the
model's own forward passes.
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
# the scorer never builds an optimizer; it imports train.py (counts, evaluate) and itself
SCORE_PRELOAD = ("torch", "torch.nn.functional", "numpy", "deeploop.experiment.counts",
                 "deeploop.experiment.evaluate", "deeploop.experiment.score")
KINDS = ("train", "score")
# not `-m`: the package imports this module, and runpy warns about re-running it
_ENTRY = ("import sys; from deeploop.experiment.warm import serve; "
          "serve(tuple(sys.argv[2:]), int(sys.argv[1]))")


def _child(request: dict, helper: int) -> None:
    """In the forked child: become the trainer (or the scorer); never returns."""
    code = 1
    try:
        os.setsid()
        die_with_parent(helper)  # the helper dies with the harness; its trainer with it
        log, *pipes = request["fds"]
        if request.get("kind") == "score":  # stdin, stdout: the protocol; stderr: the log
            os.dup2(pipes[0], 0)
            os.dup2(pipes[1], 1)
        else:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(log, 1)
        os.dup2(log, 2)
        for fd in (log, *pipes):
            os.close(fd)
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["train.py"]
        sys.path[0] = request["cwd"]
        if request.get("kind") == "score":
            from .score import child_main
            child_main()
        else:
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
            _, fds, _, _ = socket.recv_fds(channel, 1, 3)
            request["fds"] = fds
            sys.stdout.flush()
            helper = os.getpid()
            pid = os.fork()
            if pid == 0:
                _child(request, helper)
            for fd in fds:
                os.close(fd)
            print(json.dumps({"pid": pid}), flush=True)
            _, status, usage = os.wait4(pid, 0)
            print(json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status),
                              "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}), flush=True)
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
        self.last_cpu_s: float | None = None

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

    def launch(self, cwd: str, env: dict[str, str], log: str, kind: str = "train",
               pipes: tuple[int, ...] = ()) -> int:
        """Fork a trainer (``kind`` "train", its log truncated) or a scorer
        ("score": ``pipes`` its protocol input and output, the log appended to)."""
        if kind not in KINDS or (kind == "score") != (len(pipes) == 2):
            raise ValueError(f"a {kind!r} child takes {'two pipes' if kind == 'score' else 'none'}")
        request = json.dumps({"cwd": cwd, "env": env, "log": log, "kind": kind}) + "\n"
        mode = os.O_APPEND if kind == "score" else os.O_TRUNC
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | mode, 0o644)
        try:
            self.proc.stdin.write(request.encode("utf-8"))
            self.proc.stdin.flush()
            socket.send_fds(self.channel, [b"L"], [fd, *pipes])
        finally:
            os.close(fd)
        message = self._message()
        while message.get("ready"):  # the helper announces itself once, first
            message = self._message()
        return int(message["pid"])

    def poll(self, timeout: float | None) -> int | None:
        """The trainer's exit code if it ended within ``timeout`` seconds."""
        message = self._message(timeout)
        if message is None:
            return None
        self.last_cpu_s = message.get("cpu_s")  # CPU seconds the child used (a load-free figure)
        return int(message["returncode"])

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
