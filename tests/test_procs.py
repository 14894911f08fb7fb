"""procs: a child in its own session; timeouts and cancels stop its whole group."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from deeploop import procs
from tests.helpers import alive, wait_until

PY = sys.executable


def test_output_input_and_exit_code_are_captured():
    done = procs.run([PY, "-c", "import sys; data = sys.stdin.read(); print(data.upper()); "
                      "print('warn', file=sys.stderr); print('last words', file=sys.stderr); "
                      "sys.exit(4)"], input="hello")
    assert done.stdout == "HELLO\n" and done.returncode == 4
    assert not done.timed_out and not done.ok
    assert done.tail() == "last words" and done.tail(4) == "last"
    assert procs.run([PY, "-c", "pass"]).ok
    assert procs.run([PY, "-c", "pass"]).tail() == "(no stderr)"


def test_bad_bytes_are_replaced_not_raised():
    done = procs.run([PY, "-c", "import sys; sys.stdout.buffer.write(b'a\\xffb')"])
    assert done.stdout == "a\ufffdb"


def test_a_program_that_cannot_start_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        procs.run([str(tmp_path / "no-such-program")])


def test_a_timeout_kills_the_grandchild_too(tmp_path):
    pid_file = tmp_path / "grandchild"
    child = ("import subprocess, sys, time\n"
             f"p = subprocess.Popen([{PY!r}, '-c', 'import time; time.sleep(600)'])\n"
             f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
             "print('started', flush=True)\n"
             "time.sleep(600)\n")
    started = time.monotonic()
    done = procs.run([PY, "-c", child], timeout=1.5, grace=1.0)
    assert done.timed_out and not done.ok
    assert done.returncode == -signal.SIGTERM
    assert done.stdout == "started\n"  # what it wrote before the timeout is kept
    assert time.monotonic() - started < 30
    wait_until(lambda: not alive(int(pid_file.read_text())), "the grandchild to be killed")


def test_a_child_that_ignores_sigterm_gets_sigkill_after_the_grace():
    child = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
             "print('ready', flush=True); time.sleep(600)")
    started = time.monotonic()
    done = procs.run([PY, "-c", child], timeout=1.0, grace=0.5)
    assert done.timed_out and done.returncode == -signal.SIGKILL
    assert 1.0 <= time.monotonic() - started < 30


def test_a_cancel_stops_the_group_and_goes_on(tmp_path):
    pid_file = tmp_path / "child"
    child = (f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
             "time.sleep(600)")

    def interrupt_once_it_runs():
        wait_until(lambda: pid_file.exists() and pid_file.read_text(), "the child to start")
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_it_runs, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        procs.run([PY, "-c", child], grace=1.0)
    assert not alive(int(pid_file.read_text()))


def test_the_child_leads_its_own_group():
    proc = procs.start([PY, "-c", "import os; print(os.getpgid(0), os.getsid(0))"],
                       stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=30)
    assert out.split() == [str(proc.pid), str(proc.pid)]
    assert not procs.signal_group(proc.pid)  # gone: False, no error
