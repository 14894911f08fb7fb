"""Kernels that cannot collide: each one talks over ipc sockets in its own folder.

With the default tcp transport, jupyter_client picks free ports and the
kernel binds them a moment later; parallel sessions on one machine can pick
the same port in between and fail at random. Unix-domain (ipc) sockets named
inside a private temp folder cannot collide. The kernel's own stdout/stderr
(start-up warnings, a crash message, zmq noise on interrupt) go to a log file
instead of the user's terminal. The kernel gets the environment without
credentials (``childenv``): a notebook that calls Claude needs
``--pass-env ANTHROPIC_API_KEY``.
"""
from __future__ import annotations

import asyncio
import contextvars
import os
import shutil
import tempfile
import weakref
from pathlib import Path

from ..errors import InputError, require

# Unix sockets have a ~107-byte path limit, so the folder must stay short.
_TEMP_PREFIX = "dlk-"


def kernel_manager_class(log_path: Path | None = None):
    """A KernelManager class for papermill's ``kernel_manager_class``.

    A class rather than an instance, so nbclient owns the kernel and shuts it
    down (and our cleanup removes the socket folder) on every path out.
    """
    manager = require("jupyter_client.manager", "notebook")

    class IpcKernelManager(manager.AsyncKernelManager):
        def __init__(self, **kwargs):
            self.socket_dir = tempfile.mkdtemp(prefix=_TEMP_PREFIX)
            # Also when the kernel never started (nbclient then skips cleanup).
            weakref.finalize(self, shutil.rmtree, self.socket_dir, ignore_errors=True)
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(self.socket_dir, "k"))
            kwargs.setdefault("connection_file", os.path.join(self.socket_dir, "kernel.json"))
            super().__init__(**kwargs)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            from ..childenv import child_env
            kw["env"] = child_env(kw.get("env"))  # no credentials unless passed
            if log_path is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            # Popen duplicates the descriptor into the kernel, so closing ours is safe.
            with open(log_path, "ab") as log:
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                return await super()._async_launch_kernel(kernel_cmd, **kw)

        # AsyncKernelManager binds cleanup_resources to the base coroutine
        # directly, so overriding _async_cleanup_resources would never run.
        async def cleanup_resources(self, restart: bool = False) -> None:
            await self._async_cleanup_resources(restart=restart)
            if not restart:
                shutil.rmtree(self.socket_dir, ignore_errors=True)

    return IpcKernelManager


def with_own_event_loop(fn, *args, **kwargs):
    """Call ``fn`` with a fresh event loop for nbclient, closed afterwards.

    jupyter_core keeps "this thread's loop" in a ContextVar. Dask runs tasks
    in a copy of the submitter's context, so two worker threads would share
    one loop ("This event loop is already running"). An empty context makes
    jupyter_core create a loop for this call alone; we close it after.
    """
    utils = require("jupyter_core.utils", "notebook")

    def call():
        loop = utils.ensure_event_loop()  # new: an empty context holds no loop
        owned = not loop.is_running()     # inside a Jupyter cell the loop is the kernel's
        try:
            return fn(*args, **kwargs)
        finally:
            if owned:
                _close_loop(loop)

    return contextvars.Context().run(call)


def _close_loop(loop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    asyncio.set_event_loop(None)


def check_kernel(nb, kernel_name: str | None) -> str:
    """The kernel a notebook will run on; a one-line error if it is not installed.

    Without a name we use the notebook's kernelspec, and ``python3`` when it
    names none. jupyter_client resolves ``python3`` to the interpreter running
    deeploop (``sys.executable``), so the kernel sees the same packages.
    """
    kernelspec = require("jupyter_client.kernelspec", "notebook")
    name = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    specs = kernelspec.KernelSpecManager().find_kernel_specs()
    if name not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise InputError(f"kernel {name!r} is not installed (installed: {known}); "
                         f"run with --kernel python3 or install it", kernel=name)
    return name
