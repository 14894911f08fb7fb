"""Document sources for research mode, picked by spec string.

``get_source(spec, **options) -> Source``; a source has
``search(query, k=5) -> list[Passage]`` and ``skipped() -> list[Skipped]``.

Specs:

- ``local:DIR`` — BM25 over the .md, .txt, .html and .pdf files under DIR
  (``~`` expanded); see ``local.LocalSource`` for options (``cache_dir``,
  ``max_bytes``, ``max_words``).
- ``sample:stdlib`` — the same over the bundled offline sample collection
  (standard library documentation, see ``sample``).

Other schemes (a web-search source) register with ``register(scheme, factory)``;
a factory takes the text after the colon and the options.
"""
from __future__ import annotations

from typing import Callable

from ...errors import InputError
from ...registry import Registry
from .local import DEFAULT_MAX_BYTES, LocalSource
from .passage import Passage, Skipped, Source
from .refresh import RefreshStats
from .sample import sample_collection

__all__ = ["DEFAULT_MAX_BYTES", "LocalSource", "Passage", "RefreshStats", "Skipped", "Source",
           "get_source", "register", "sample_collection"]

_SOURCES: Registry[Callable[..., Source]] = Registry("source spec")


def register(scheme: str, factory: Callable[..., Source], usage: str = "") -> None:
    """Make ``<scheme>:<arg>`` build ``factory(arg, **options)``."""
    _SOURCES.register(scheme, factory, usage)


def get_source(spec: str, **options) -> Source:
    """The source a spec string names, or a one-line InputError."""
    scheme, sep, arg = (spec or "").partition(":")
    if not sep:
        raise _SOURCES.unknown(spec)
    factory = _SOURCES.get(scheme, spec)
    if not arg.strip():
        raise InputError(f"source spec {spec!r} is incomplete: use {_SOURCES.usage(scheme)}",
                         spec=spec)
    return factory(arg.strip(), **options)


def _local(arg: str, **options) -> Source:
    return LocalSource(arg, spec=f"local:{arg}", **options)


SAMPLES = {"stdlib": sample_collection}


def _sample(arg: str, **options) -> Source:
    if arg not in SAMPLES:
        known = ", ".join(f"sample:{name}" for name in sorted(SAMPLES))
        raise InputError(f"unknown sample collection 'sample:{arg}': known samples are {known}")
    return LocalSource(SAMPLES[arg](), spec=f"sample:{arg}", **options)


register("local", _local, "local:<folder>")
register("sample", _sample, "sample:stdlib")
