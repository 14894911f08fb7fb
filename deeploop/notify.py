"""Notifications: breakthrough, major_breakthrough, done, crash — each once.

A notification is a line ``[HH:MM:SS] message`` appended to ``notify.log``,
a ``notification`` event, and, when ``--notify-cmd`` is given, that command
run with the message as its last argument (and on stdin), in an
environment without credentials (``childenv``). A failing command
is written down and never stops the loop. "Once" holds across resumes: the
kinds already sent are read back from the run's events.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from .childenv import child_env
from .events import EventLog
from .fileio import append_text
from . import procs

COMMAND_TIMEOUT = 15.0


def message_for(kind: str, tag: str, best: float | None, baseline: float | None,
                experiments: int, detail: str = "") -> str:
    best_text = f"{best:.6f}" if best else "n/a"
    gain = f" ({100 * (baseline - best) / baseline:.2f}% below baseline {baseline:.6f})" \
        if best and baseline else ""
    texts = {
        "breakthrough": f"deeploop {tag}: breakthrough, val_bpb {best_text}{gain}",
        "major_breakthrough": f"deeploop {tag}: MAJOR breakthrough, val_bpb {best_text}{gain}",
        "done": f"deeploop {tag}: done after {experiments} experiments, best val_bpb {best_text}",
        "crash": f"deeploop {tag}: the loop crashed after {experiments} experiments "
                 f"(best {best_text}): {detail}",
    }
    return texts[kind]


def _run_command(argv: list[str], message: str) -> str | None:
    """Run the notify command; the problem as text, or None when it worked."""
    try:
        done = procs.run(argv + [message], input=message, timeout=COMMAND_TIMEOUT,
                         env=child_env())
    except OSError as exc:
        return f"cannot start {argv[0]}: {exc.strerror}"
    if done.timed_out:
        return f"no exit within {COMMAND_TIMEOUT:g} s"
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.tail()}"
    return None


@dataclass
class Notifier:
    log_path: Path
    events: EventLog | None = None
    command: str | None = None
    sent: set[str] = field(default_factory=set)
    clock: Callable[[], datetime] = datetime.now
    run_command: Callable[[list[str], str], str | None] = _run_command

    def send(self, kind: str, message: str, key: str | None = None) -> dict | None:
        """Deliver ``kind`` unless it was sent before; the event, or None.

        ``key`` (default: the kind) is what "once" is about, so a loop can
        send one kind several times for different things (research sends a
        breakthrough once per report section)."""
        key = key or kind
        if key in self.sent:
            return None
        self.sent.add(key)
        lines = [f"[{self.clock():%H:%M:%S}] {message}"]
        problem = None
        if self.command:
            try:
                problem = self.run_command(shlex.split(self.command), message)
            except ValueError as exc:  # unbalanced quotes in --notify-cmd
                problem = f"bad --notify-cmd: {exc}"
            if problem:
                lines.append(f"[{self.clock():%H:%M:%S}] notify-cmd failed: {problem}")
        append_text(self.log_path, "\n".join(lines) + "\n")
        fields = {"kind": kind, "message": message, "command_error": problem}
        if key != kind:
            fields["key"] = key
        if self.events is not None:
            return self.events.emit("notification", **fields)
        return {"type": "notification", **fields}


def sent_kinds(events: list[dict]) -> set[str]:
    """The keys already sent (a notification's ``key``, else its kind)."""
    return {e.get("key") or e.get("kind") for e in events if e.get("type") == "notification"}

