"""The sample collection: stdlib documentation as Markdown, built offline.

``sample_collection()`` renders the docstrings of a fixed list of standard
library modules (those installed with this Python) into one ``<module>.md``
per module under ``cache_home()/stdlib-docs-py<X.Y>-v<N>/``, on first use,
and returns that folder. Each module file opens with the module's
documentation; every documented public function and class gets a ``##``
section and every documented public method a ``###`` section, so
citations name a real heading. Spec: ``sample:stdlib``.
"""
from __future__ import annotations

import importlib
import inspect
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .cache import cache_home

# Bump when the rendering changes: a new folder is built, old ones are left.
SAMPLE_VERSION = 1

STDLIB_MODULES = (
    "argparse", "asyncio", "base64", "bisect", "calendar", "collections", "contextlib",
    "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions",
    "functools", "glob", "gzip", "hashlib", "heapq", "hmac", "html", "html.parser",
    "http.client", "inspect", "io", "ipaddress", "itertools", "json", "logging", "math",
    "mimetypes", "operator", "os", "pathlib", "pickle", "pprint", "queue", "random", "re",
    "secrets", "shelve", "shlex", "shutil", "socket", "sqlite3", "statistics", "string",
    "struct", "subprocess", "tarfile", "tempfile", "textwrap", "threading", "time",
    "timeit", "tomllib", "typing", "unittest", "urllib.parse", "urllib.request", "uuid",
    "warnings", "weakref", "zipfile", "zlib",
)


def _public_names(module) -> list[str]:
    """``__all__`` when the module declares it, else the public functions and
    classes it defines itself (not those it imports)."""
    names = getattr(module, "__all__", None)
    if names is None:
        # C accelerators live in '_<module>' (bisect, heapq): count them as its own.
        homes = {module.__name__, "_" + module.__name__}
        names = [name for name, value in vars(module).items()
                 if _documentable(value) and getattr(value, "__module__", None) in homes]
    return sorted({n for n in names if not n.startswith("_") and hasattr(module, n)})


def _documentable(value) -> bool:
    return inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value)


def _signature(name: str, value) -> str:
    try:
        return f"{name}{inspect.signature(value)}"
    except (TypeError, ValueError):  # some builtins have no introspectable signature
        return name


def _methods(cls) -> list[tuple[str, object]]:
    return [(name, value) for name, value in sorted(vars(cls).items())
            if not name.startswith("_") and callable(value) and inspect.getdoc(value)]


def _member_sections(qualname: str, value) -> list[str]:
    doc = inspect.getdoc(value)
    if not doc:
        return []
    # Short headings make short citations; the full signature opens the body.
    kind = "class " if inspect.isclass(value) else ""
    parts = [f"## {kind}{qualname}\n\n`{kind}{_signature(qualname, value)}`\n\n{doc}\n"]
    for name, method in _methods(value) if kind else []:
        method_doc = inspect.getdoc(method)
        signature = _signature(f"{qualname}.{name}", method)
        parts.append(f"### {qualname}.{name}\n\n`{signature}`\n\n{method_doc}\n")
    return parts


def render_module(module) -> str:
    """One module's documentation as Markdown (pure: the module object in)."""
    doc = inspect.getdoc(module) or ""
    summary, _, rest = doc.partition("\n")
    parts = [f"# {module.__name__} — {summary.strip()}\n" if summary else f"# {module.__name__}\n"]
    if rest.strip():
        parts.append(rest.strip() + "\n")
    for name in _public_names(module):
        value = getattr(module, name)
        if _documentable(value):
            parts.extend(_member_sections(f"{module.__name__}.{name}", value))
    return "\n".join(parts)


def _write_collection(folder: Path, modules) -> None:
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:  # e.g. tomllib before 3.11, sqlite3 without libsqlite
            continue
        (folder / f"{name}.md").write_text(render_module(module), encoding="utf-8")


def sample_collection(cache_root: Path | None = None) -> Path:
    """The folder of the stdlib sample collection, built on first use.

    The folder is built aside and renamed into place, so concurrent first
    uses never see a half-written collection; the loser of the race simply
    discards its copy."""
    root = Path(cache_root) if cache_root else cache_home()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    folder = root / f"stdlib-docs-py{version}-v{SAMPLE_VERSION}"
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".stdlib-docs-", dir=root))
    try:
        _write_collection(staging, STDLIB_MODULES)
        os.rename(staging, folder)
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
