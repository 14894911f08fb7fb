"""Parallel sessions each get a private ipc kernel: no shared ports, nothing left behind."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.notebook.nbhelpers import DATA, printed_json

from deeploop.notebook.session import SessionState, run_session

SESSIONS = 4


def _one(args):
    out, n = args
    return run_session(DATA / "params.ipynb", {"experiments": n}, out=out, progress=False)


def test_parallel_sessions_use_private_ipc_sockets_and_clean_up(tmp_path):
    jobs = [(tmp_path / f"s{n}", n) for n in range(1, SESSIONS + 1)]
    # Threads share one process, the harshest case: one port table, one cwd.
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(_one, jobs))
    assert [r.state for r in results] == [SessionState.PASSED] * SESSIONS
    assert [r.headline["value"] for r in results] == [n * 0.5 for _, n in jobs]
    kernels = [printed_json(r.output)[0] for r in results]
    assert {k["transport"] for k in kernels} == {"ipc"}
    socket_dirs = {str(Path(k["ip"]).parent) for k in kernels}
    assert len(socket_dirs) == SESSIONS  # one private folder per kernel
    for folder in socket_dirs:
        assert os.path.basename(folder).startswith("dlk-")
        assert not os.path.exists(folder), f"socket folder left behind: {folder}"


def test_socket_folder_goes_even_if_the_kernel_never_starts():
    import gc

    from deeploop.notebook.kernel import kernel_manager_class
    manager = kernel_manager_class()(kernel_name="python3")
    folder = manager.socket_dir
    assert os.path.isdir(folder) and manager.transport == "ipc"
    del manager
    gc.collect()
    assert not os.path.exists(folder)
