"""A loop's workspace: its own git repo on a branch of its own.

The experiment loop keeps train.py and program.md in one on
``deeploop/<tag>`` (``experiment.workspace.TrainingWorkspace``: one commit an
experiment, a discard is ``git reset --hard``); research keeps its notes in
one on ``research/<tag>``. Commits are made as "deeploop" with hooks and
signing off, so a person's git configuration cannot break or slow a loop.
Files that ``ignored`` names (locks, atomic writes in progress, a loop's own
artifacts) are never content.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from .childenv import child_env
from .errors import InputError

TEMPORARY = ".*.tmp"             # atomic writes in progress (fileio.atomic_write_text)
_GIT_CONFIG = ["-c", "user.name=deeploop", "-c", "user.email=deeploop@localhost",
               "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null",
               "-c", "core.autocrlf=false", "-c", "advice.detachedHead=false"]


class GitError(InputError):
    """A git command failed; ``stderr`` holds its last line."""


def _git_program() -> str:
    git = shutil.which("git")
    if git is None:
        raise InputError("git is not installed: deeploop keeps a loop's history in git")
    return git


def check_branch(branch: str, tag: str) -> None:
    """Refuse a tag that makes no valid git branch name, before anything is created."""
    if subprocess.run([_git_program(), "check-ref-format", "--branch", branch],
                      capture_output=True, env=child_env()).returncode != 0:
        raise InputError(f"invalid tag {tag!r}: {branch} is not a valid git branch name")


def git_problem(stderr: str) -> str:
    """The line of git's stderr that says what went wrong: its ``fatal:`` or
    ``error:`` line (git's last lines are often advice that names no file,
    e.g. "remove the file manually to continue." after an index.lock), with
    what to do about a lock file a killed git left behind."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    line = next((x for x in lines if x.startswith(("fatal:", "error:"))),
                lines[-1] if lines else "(no output)")
    if ".lock': File exists" in line:
        locked = line.split("'")[1]
        line += f" (a git command was killed while writing: remove {locked} if no git is running)"
    return line


@dataclass
class Workspace:
    path: Path

    main_file: ClassVar[str] = ""  # what read/write/commit/diff/show mean without a name
    ignored: ClassVar[tuple[str, ...]] = (".*.lock", TEMPORARY)  # deeploop's files: never content

    def git(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run([_git_program(), *_GIT_CONFIG, *args], cwd=self.path,
                              capture_output=True, text=True, env=child_env())
        if check and proc.returncode != 0:
            tail = git_problem(proc.stderr)
            raise GitError(f"git {args[0]} failed in {self.path}: {tail}", stderr=tail)
        return proc.stdout

    @classmethod
    def create(cls, path: Path | str, tag: str, files: dict[str, str], *,
               branch: str, message: str = "baseline") -> "Workspace":
        """A new repo on ``branch`` whose first commit holds ``files``."""
        ws = cls(Path(path))
        check_branch(branch, tag)
        ws.path.mkdir(parents=True)
        ws.git("init", "-q")
        ws.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        for pattern in cls.ignored:
            ws.exclude(pattern)
        for name, text in files.items():
            (ws.path / name).write_text(text, encoding="utf-8")
        ws.git("add", "--", *files)
        ws.git("commit", "-q", "-m", message)
        return ws

    def clear_left_lock(self) -> Path | None:
        """Remove git's ``index.lock`` that a git command killed with the run
        left behind. Call it only when the run's last process died (a stale
        run, taken over under the run's lock); says so in one line."""
        from .creating import notice
        lock = self.path / ".git" / "index.lock"
        try:
            lock.unlink()
        except FileNotFoundError:
            return None
        notice.warning(f"removed {lock}, left by a git command killed with the last run")
        return lock

    def exclude(self, pattern: str) -> None:
        """Keep ``pattern`` out of ``git status`` (``.git/info/exclude``, not a tracked file)."""
        path = self.path / ".git" / "info" / "exclude"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if pattern not in text.splitlines():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + ("" if not text or text.endswith("\n") else "\n") + pattern
                            + "\n", encoding="utf-8")

    def clear_temporary(self) -> list[str]:
        """Remove the temporary files a killed writer left behind
        (``fileio.atomic_write_text`` writes ``.NAME.*.tmp`` beside NAME and
        renames it into place). Call on start, under the run's lock, when no
        writer can be running. Workspaces made before a pattern joined
        ``ignored`` (the saved model, say) have it excluded here too."""
        for pattern in self.ignored:
            self.exclude(pattern)
        removed = []
        for path in self.path.rglob(TEMPORARY):
            if ".git" in path.relative_to(self.path).parts or not path.is_file():
                continue
            path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(self.path)))
        return sorted(removed)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD").strip()

    def resolve(self, ref: str) -> str:
        return self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()

    def is_dirty(self) -> bool:
        """Uncommitted changes to tracked files (untracked files do not count)."""
        return bool(self.git("status", "--porcelain", "--untracked-files=no").strip())

    def dirty_paths(self) -> list[str]:
        out = self.git("status", "--porcelain", "--untracked-files=no")
        return [line[3:] for line in out.splitlines() if line.strip()]

    def untracked(self) -> set[str]:
        out = self.git("ls-files", "--others", "--exclude-standard", "-z")
        return {p for p in out.split("\0") if p}

    def read(self, name: str = "") -> str:
        return (self.path / (name or self.main_file)).read_text(encoding="utf-8")

    def write(self, text: str, name: str = "") -> None:
        (self.path / (name or self.main_file)).write_text(text, encoding="utf-8")

    def commit(self, message: str, paths: tuple[str, ...] = ()) -> str:
        self.git("add", "--", *(paths or (self.main_file,)))
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def reset_hard(self, commit: str) -> None:
        self.git("reset", "-q", "--hard", commit)

    def restore(self, paths: list[str]) -> None:
        """Put tracked files back as HEAD has them."""
        if paths:
            self.git("checkout", "-q", "HEAD", "--", *paths)

    def diff(self, base: str, head: str = "HEAD", path: str = "") -> str:
        return self.git("diff", base, head, "--", path or self.main_file)

    def log_oneline(self, count: int = 20) -> str:
        return self.git("log", "--oneline", f"-{count}")

    def show(self, commit: str, path: str = "") -> str:
        return self.git("show", f"{commit}:{path or self.main_file}")
