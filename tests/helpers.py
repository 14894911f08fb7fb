"""Helpers shared by tests: paths to the repo and the recorded reference runs,
and a builder of small node folders."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures"
LEGACY = FIXTURES / "deeper-legacy"


def make_node(nodes_dir: Path, name: str, judge_py: str | None = None,
              judge_sh: str | None = None, toml: str = "") -> Path:
    node = nodes_dir / name
    node.mkdir(parents=True)
    (node / "PROMPT.md").write_text(f"You are node {name}.\n")
    (node / "BANS.md").write_text("")
    if judge_py is not None:
        (node / "judge.py").write_text(judge_py)
    if judge_sh is not None:
        (node / "judge.sh").write_text(judge_sh)
    if toml:
        (node / "node.toml").write_text(toml)
    return node
