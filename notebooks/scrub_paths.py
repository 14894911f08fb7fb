"""Write executed example notebooks without the machine they ran on.

``make notebooks`` runs the examples with a throw-away runs root (a temporary
folder), and their outputs print paths of runs inside it (``report: <the
temporary folder>/experiment/notebook-demo/report.html``). Committed, that
would publish one machine's temporary folder, so this replaces the runs root
in every output with ``$DEEPLOOP_RUNS``, the variable that named it. Sources
and images are left alone. nbval treats ``$DEEPLOOP_RUNS`` and a test
session's runs root alike (nbval_sanitize.cfg), so the outputs still compare.

    python notebooks/scrub_paths.py RUNS_ROOT NOTEBOOK...
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat

PLACEHOLDER = "$DEEPLOOP_RUNS"


def spellings(root: str) -> list[str]:
    """The root as given and as resolved (a /tmp that is a link), longest first."""
    forms = {root.rstrip("/"), os.path.realpath(root).rstrip("/")}
    return sorted((f for f in forms if f), key=len, reverse=True)


def scrub_text(value, roots: list[str]) -> tuple[object, int]:
    """``value`` (text, or lists and dicts of it) with the roots replaced; the count."""
    if isinstance(value, str):
        count = 0
        for root in roots:
            count += value.count(root)
            value = value.replace(root, PLACEHOLDER)
        return value, count
    if isinstance(value, list):
        pairs = [scrub_text(item, roots) for item in value]
        return [v for v, _ in pairs], sum(n for _, n in pairs)
    if isinstance(value, dict):
        pairs = {key: scrub_text(item, roots) for key, item in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    return value, 0


def scrub_notebook(path: Path, root: str) -> int:
    """Rewrite ``path`` with the runs root replaced in its outputs; the count replaced."""
    roots = spellings(root)
    nb = nbformat.read(str(path), as_version=4)
    count = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for key in ("text", "traceback"):
                if key in out:
                    out[key], n = scrub_text(out[key], roots)
                    count += n
            for mime in list(out.get("data", {})):
                if not mime.startswith("image/"):
                    out["data"][mime], n = scrub_text(out["data"][mime], roots)
                    count += n
    if count:
        nbformat.write(nb, str(path))
    return count


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    root, notebooks = argv[1], [Path(p) for p in argv[2:]]
    for path in notebooks:
        count = scrub_notebook(path, root)
        if count:
            print(f"{path}: {count} path(s) under the runs root written as {PLACEHOLDER}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
