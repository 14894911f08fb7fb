"""The command proposer: an external agent edits the workspace; only its
train.py change survives, and the loop makes the commit."""
from __future__ import annotations

import sys
import textwrap

import pytest

from deeploop.experiment.proposers import get_proposer
from deeploop.experiment.results import read_results

from .test_loop import results_of, run_all

AGENT = textwrap.dedent("""\
    import subprocess, sys
    prompt = sys.stdin.read()
    assert "train.py (the only file you may change)" in prompt
    assert "Edit train.py in place" in prompt
    src = open("train.py").read().replace("DEPTH = 4", "DEPTH = 6")
    open("train.py", "w").write(src)
    open("program.md", "a").write("agent scribbles\\n")
    open("notes.txt", "w").write("scratch\\n")
    subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qam", "agent"],
                   check=True)
    print("thinking...")
    print("DESCRIPTION: DEPTH 4 -> 6")
    """)


@pytest.fixture
def agent_dir(tmp_path, monkeypatch):
    """A folder for agent scripts the sandbox lets the agent see."""
    folder = tmp_path / "agent"
    folder.mkdir()
    monkeypatch.setenv("DEEPLOOP_SANDBOX_BIND", str(folder))
    return folder


def test_only_train_py_changes_are_kept(fake_run, agent_dir):
    script = agent_dir / "agent.py"
    script.write_text(AGENT)
    proposer = get_proposer(f"command:{sys.executable} {script}")
    ws = fake_run.workspace()
    program = (ws.path / "program.md").read_text()
    events, results = run_all(fake_run, proposer, experiments=1)
    result = results_of(events)[-1]
    assert result["status"] == "keep" and result["description"] == "DEPTH 4 -> 6"
    assert sorted(result["proposal"]["discarded"]) == ["commits", "notes.txt", "program.md"]
    assert (ws.path / "program.md").read_text() == program
    assert not (ws.path / "notes.txt").exists()
    assert "DEPTH = 6" in ws.read() and not ws.is_dirty()
    assert ws.log_oneline().splitlines()[0].endswith("exp 1: DEPTH 4 -> 6")
    assert "agent" not in ws.log_oneline()


def test_a_command_that_changes_nothing_or_fails_is_a_failed_proposal(fake_run, agent_dir):
    lazy = agent_dir / "lazy.py"
    lazy.write_text("print('DESCRIPTION: nothing to do')\n")
    broken = agent_dir / "broken.py"
    broken.write_text("import sys\nsys.exit('no model available')\n")
    run_all(fake_run, get_proposer(f"command:{sys.executable} {lazy}"), experiments=1,
            max_rejected=1)
    events, results = run_all(fake_run, get_proposer(f"command:{sys.executable} {broken}"),
                              experiments=2, max_rejected=1)
    reasons = [e["reason"] for e in results_of(events)]
    assert "exited 1: no model available" in reasons[-1]
    journal = [e for e in results_of(events)]
    assert [e["status"] for e in journal] == ["rejected"]
    assert len(read_results(fake_run.results_path).rows) == 1
