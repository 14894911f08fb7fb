"""Walls around agent-written code: bubblewrap (``bwrap``) on Linux.

Everything an experiment runs that an agent wrote or chose (the trainer,
the scorer importing train.py, a ``command:`` proposer) runs inside a
bubblewrap sandbox built from an allow-list, not a deny-list:

- read-only: the system (``/usr``, ``/etc``, ``/sys``, the ``/bin``-style
  links), Python's prefixes and site-packages, and the ``deeploop`` package
  itself, with its embedded corpus hidden under an empty tmpfs;
- the prepared corpus folder read-only, with the validation bytes
  (``val*`` files) replaced by ``/dev/null``: nothing else of the run folder,
  the runs root, the home folder or the user's cache is there at all;
- the workspace: writable for the trainer and a ``command:`` agent,
  read-only for the scorer; its ``.git`` is read-only always, so nothing
  rewrites history (tracked files a trainer changes are put back by the
  loop, and the run is a crash);
- a private empty ``/tmp`` (also ``HOME``), ``/dev`` and ``/proc``;
- no network (``--unshare-net``), except for a ``command:`` agent, whose
  model API needs it; no credentials in the environment (``trainer.scrub_env``),
  except an agent's own.

Where bwrap is missing (macOS, a container without user namespaces), the
loop says so once at the start of the run and in the report, and the
harness still scores; see ``probe``. Extra read-write paths for an agent
CLI's own configuration: ``DEEPLOOP_SANDBOX_BIND`` (``:``-separated).
"""
from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

MODES = ("auto", "bwrap", "none")
BIND_ENV = "DEEPLOOP_SANDBOX_BIND"
_SYSTEM_DIRS = ("/usr", "/etc", "/sys", "/opt/conda")
_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
HOME = "/tmp/home"


@dataclass(frozen=True)
class Walls:
    """What one sandboxed process may see: ``workspace`` (``writable`` or
    not), ``data_dir`` (the prepared corpus, validation hidden), ``network``."""

    workspace: Path
    data_dir: Path | None = None
    writable: bool = True
    network: bool = False
    # read-only even when the workspace is writable. Folders only: a file bind
    # pins the file as it was, and the warm helper outlives many git resets
    # (the loop puts back tracked files a trainer changed, and says so)
    protect: tuple[str, ...] = (".git",)
    extra_rw: tuple[Path, ...] = field(default_factory=tuple)


@functools.lru_cache(maxsize=None)
def probe(bwrap: str | None = None) -> str | None:
    """Why bwrap cannot be used here, or None when a test sandbox runs."""
    bwrap = bwrap or shutil.which("bwrap")
    if not bwrap:
        return "bubblewrap (bwrap) is not installed"
    try:
        proc = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               "--unshare-net", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap does not start: {exc}"
    if proc.returncode != 0:
        tail = (proc.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        return f"bwrap does not work here: {tail}"
    return None


def resolve_mode(mode: str) -> tuple[str, str | None]:
    """("bwrap" | "none", why there is no sandbox or None)."""
    if mode not in MODES:
        raise InputError(f"unknown sandbox {mode!r}: use one of {', '.join(MODES)}")
    if mode == "none":
        return "none", "turned off (--sandbox none)"
    problem = probe()
    if problem and mode == "bwrap":
        raise InputError(f"--sandbox bwrap: {problem}")
    return ("none", problem) if problem else ("bwrap", None)


def package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def hidden_paths() -> list[Path]:
    """Folders the sandbox covers with an empty tmpfs when they lie inside
    something it binds: the package's embedded corpus, the corpus cache."""
    from .corpus import DATA_DIR
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "deeploop"
    return [DATA_DIR.resolve(), cache]


def python_paths() -> list[Path]:
    """Where the interpreter and its libraries live (never the current folder)."""
    paths = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    paths.add(Path(sys.executable).resolve().parent)
    for p in site.getsitepackages() + [site.getusersitepackages()]:
        paths.add(Path(p))
    return sorted(p for p in paths if p.is_dir())


def _covered(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def bwrap_argv(walls: Walls, bwrap: str = "bwrap") -> list[str]:
    """The bwrap command line (without the command) for ``walls``."""
    argv = [bwrap, "--die-with-parent", "--unshare-ipc", "--unshare-uts"]
    if not walls.network:
        argv.append("--unshare-net")
    bound: list[Path] = []
    for d in _SYSTEM_DIRS:
        if os.path.isdir(d) and not os.path.islink(d):
            argv += ["--ro-bind", d, d]
            bound.append(Path(d))
    for link in _LINKS:
        if os.path.islink(link):
            argv += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            argv += ["--ro-bind", link, link]
            bound.append(Path(link))
    # the private /tmp first: binds below it (a venv or a checkout under /tmp) go on top
    argv += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", HOME]
    for p in python_paths() + [package_dir()]:
        if not _covered(p, bound):
            argv += ["--ro-bind", str(p), str(p)]
            bound.append(p)
    for hidden in hidden_paths():
        if hidden.is_dir() and _covered(hidden, bound):
            argv += ["--tmpfs", str(hidden)]
    ws = str(Path(walls.workspace).resolve())
    argv += ["--bind" if walls.writable else "--ro-bind", ws, ws]
    for name in walls.protect if walls.writable else ():
        if os.path.lexists(os.path.join(ws, name)):
            argv += ["--ro-bind", os.path.join(ws, name), os.path.join(ws, name)]
    if walls.data_dir is not None:
        data = Path(walls.data_dir).resolve()
        argv += ["--ro-bind", str(data), str(data)]
        for entry in sorted(data.iterdir()):
            if entry.name.startswith("val"):  # the validation bytes: present, empty
                argv += ["--ro-bind", "/dev/null", str(entry)]
    for extra in walls.extra_rw + _extra_binds():
        argv += ["--bind", str(extra), str(extra)]
    argv += ["--remount-ro", "/"]  # the sandbox's own root: folders made for mount points
    argv += ["--setenv", "HOME", HOME, "--setenv", "TMPDIR", "/tmp",
             "--setenv", "XDG_CACHE_HOME", f"{HOME}/.cache", "--chdir", ws]
    return argv


def _extra_binds() -> tuple[Path, ...]:
    raw = os.environ.get(BIND_ENV, "")
    return tuple(Path(p) for p in raw.split(":") if p and Path(p).exists())


@dataclass(frozen=True)
class Sandbox:
    """Wraps commands in bwrap (``kind`` "bwrap") or runs them as they are
    (``kind`` "none", with ``reason`` saying why)."""

    kind: str = "none"
    reason: str | None = None

    @classmethod
    def from_mode(cls, mode: str = "auto") -> "Sandbox":
        kind, reason = resolve_mode(mode)
        return cls(kind, reason)

    @property
    def active(self) -> bool:
        return self.kind == "bwrap"

    def wrap(self, argv: list[str], walls: Walls) -> list[str]:
        if not self.active:
            return list(argv)
        return bwrap_argv(walls, shutil.which("bwrap") or "bwrap") + ["--", *argv]

    def env(self) -> dict[str, str]:
        """Variables a sandboxed process gets: a private home and temp folder."""
        if not self.active:
            return {}
        return {"HOME": HOME, "TMPDIR": "/tmp", "XDG_CACHE_HOME": f"{HOME}/.cache"}

    def describe(self) -> dict:
        return {"kind": self.kind, "reason": self.reason}


NONE = Sandbox("none", "not asked for")
