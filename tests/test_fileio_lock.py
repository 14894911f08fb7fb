"""file_lock (filelock underneath): a second holder is refused or waits."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from deeploop.errors import FileError, RunLocked
from deeploop.fileio import file_lock


def test_a_second_holder_is_refused_naming_what(tmp_path):
    lock = tmp_path / ".lock"
    with file_lock(lock):
        with pytest.raises(RunLocked, match="^run 'x' is in use by another process$"):
            with file_lock(lock, wait=False, what="run 'x'"):
                pass
    with file_lock(lock, wait=False):  # free again once released
        pass


def test_a_holder_in_another_process_refuses_this_one(tmp_path):
    lock = tmp_path / ".lock"
    code = ("import sys, time; from deeploop.fileio import file_lock\n"
            f"with file_lock({str(lock)!r}):\n"
            "    print('held', flush=True); sys.stdin.readline()\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "held\n"
        with pytest.raises(RunLocked, match=str(lock)):
            with file_lock(lock, wait=False):
                pass
    finally:
        child.communicate("\n", timeout=30)
    with file_lock(lock, wait=False):
        pass


def test_waiting_blocks_until_the_holder_lets_go(tmp_path):
    lock = tmp_path / ".lock"
    order = []
    held = threading.Event()

    def hold():
        with file_lock(lock):
            held.set()
            time.sleep(0.3)
            order.append("released")

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    with file_lock(lock):  # wait=True is the default
        order.append("acquired")
    thread.join()
    assert order == ["released", "acquired"]


def test_a_missing_folder_is_a_file_error_not_a_hang(tmp_path):
    with pytest.raises(FileError, match="cannot lock .*missing.*No such file"):
        with file_lock(tmp_path / "missing" / ".lock"):
            pass
