#!/usr/bin/env python3
"""Fail if the package, notebooks, benches or docs refer to a path outside the repository.

A lone clone must work with nothing beside it, and committed notebook outputs
must not carry the machine they ran on. So under deeploop/, notebooks/, bench/
and docs/ (and the README) this finds:

- the reference recordings kept beside CI's checkout (``shared/fixtures``,
  ``../shared/``);
- machine paths: this machine's ``/work/`` tree, home folders (``/home/<user>/``,
  ``/root/``, ``/Users/<user>/``, ``C:\\Users\\``), temporary folders a tool
  made (``deeploop-nbval-…``, ``/tmp/deeploop-…``, ``/tmp/pytest-of-…``,
  ``/tmp/tmpXXXXXXXX``);
- relative paths that climb out of the repository from the file's own folder
  (``../../x`` in ``docs/a.md``), and ``Path(__file__).parents[N]`` that
  reaches above the repository root.

In tests/, only tests/helpers.py may name the recordings folder (the tests that
read it import it from there and carry the ``recordings`` marker).

Notebooks are read as JSON: cell sources and text outputs are checked, image
data is not. Binary files are skipped. Standard library only; exit 1 with one
line per finding (``file:line: what``), 0 when clean.

    python3 .ci/check_paths.py [REPO]
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SCANNED = ("deeploop", "notebooks", "bench", "docs", "README.md")
SKIP_DIRS = {".git", ".venv", "__pycache__", ".ipynb_checkpoints", "runs", "build", "dist"}
TESTS_ALLOWED = {"tests/helpers.py", "tests/test_self_contained.py"}  # the rule, its test

RULES = [
    (re.compile(r"shared/fixtures|\.\./shared\b"),
     "refers to the recordings beside the checkout (../shared/); use the project's own "
     "fixtures or examples"),
    (re.compile(r"(?<![\w.-])/work/"), "an absolute path on the build machine (/work/)"),
    (re.compile(r"(?<![\w.-])(/home/[A-Za-z0-9._-]+/|/root/|/Users/[A-Za-z0-9._-]+/)"
                r"|\b[A-Za-z]:\\\\?Users\\"),
     "an absolute path in someone's home folder"),
    (re.compile(r"deeploop-nbval-(?!X{6})[A-Za-z0-9_]+|(?<![\w.-])/tmp/(deeploop-|pytest-of-"
                r"|tmp[a-z0-9_]{8})"),
     "a temporary folder of one machine's run"),
]
CLIMB = re.compile(r"(?<![\w.])((?:\.\./)+)")
PARENTS = re.compile(r"__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")


def scanned_files(repo: Path):
    for name in SCANNED:
        top = repo / name
        paths = [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []
        for path in paths:
            if path.is_file() and not SKIP_DIRS.intersection(path.relative_to(repo).parts):
                yield path


def text_of(path: Path) -> list[tuple[int, str]] | None:
    """(line number, text) pairs to check, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if path.suffix == ".ipynb":
        return notebook_lines(text)
    return list(enumerate(text.splitlines(), start=1))


def notebook_lines(text: str) -> list[tuple[int, str]]:
    """Sources and text outputs of a notebook, numbered by line in the file."""
    try:
        nb = json.loads(text)
    except json.JSONDecodeError:
        return list(enumerate(text.splitlines(), start=1))
    wanted: list[str] = []
    for cell in nb.get("cells", []):
        wanted.extend(_strings(cell.get("source", "")))
        for out in cell.get("outputs", []):
            wanted.extend(_strings(out.get("text", "")))
            wanted.extend(_strings(out.get("traceback", [])))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    wanted.extend(_strings(value))
    lines = text.splitlines()
    found = []
    for piece in wanted:  # the first file line holding each piece, for a useful location
        needle = json.dumps(piece, ensure_ascii=False)[1:-1][:60]
        at = next((i for i, line in enumerate(lines) if needle in line), -1)
        found.append((at + 1, piece))
    return found


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return value.splitlines() or [value]
    if isinstance(value, list):
        return [line for item in value for line in _strings(item)]
    if isinstance(value, dict):
        return [line for item in value.values() for line in _strings(item)]
    return []


def findings_in(path: Path, repo: Path) -> list[str]:
    rel = path.relative_to(repo)
    if path.is_symlink():  # its target is checked where it lives, if that is in the repo
        target = path.resolve()
        if target == repo or repo in target.parents:
            return []
        return [f"{rel.as_posix()}: a symbolic link to {target}, outside the repository"]
    lines = text_of(path)
    if lines is None:
        return []
    depth = len(rel.parts) - 1  # folders between the repository root and the file
    found = []
    for number, line in lines:
        where = f"{rel.as_posix()}:{number}"
        for pattern, what in RULES:
            match = pattern.search(line)
            if match:
                found.append(f"{where}: {match.group(0)!r}: {what}")
        for match in CLIMB.finditer(line):
            if match.group(1).count("../") > depth:
                found.append(f"{where}: {match.group(0)!r}: climbs out of the repository "
                             f"from {rel.parent.as_posix() or '.'}/")
        if path.suffix == ".py":
            for match in PARENTS.finditer(line):
                if int(match.group(1)) > depth:
                    found.append(f"{where}: {match.group(0)!r}: reaches above the "
                                 "repository root")
    return found


def test_findings(repo: Path) -> list[str]:
    """tests/: only the helpers name the recordings folder."""
    found = []
    tests = repo / "tests"
    for path in sorted(tests.rglob("*.py")) if tests.is_dir() else []:
        rel = path.relative_to(repo).as_posix()
        if rel in TESTS_ALLOWED or SKIP_DIRS.intersection(path.parts):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if RULES[0][0].search(line):
                found.append(f"{rel}:{number}: names the recordings folder; import it from "
                             "tests/helpers.py and mark the test 'recordings'")
    return found


def check(repo: Path) -> list[str]:
    repo = Path(repo).resolve()
    found = []
    for path in scanned_files(repo):
        found.extend(findings_in(path, repo))
    return found + test_findings(repo)


def main(argv: list[str]) -> int:
    repo = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = check(repo)
    for line in found:
        print(line)
    if found:
        print(f"check_paths: {len(found)} reference(s) to paths outside the repository",
              file=sys.stderr)
        return 1
    print("check_paths: no references to paths outside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
