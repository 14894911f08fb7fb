"""The project's own fixtures (tests/fixtures/README.md) stay true: the node runs are
what deeploop makes today, and the legacy drills keep the legacy traits they exist for."""
from __future__ import annotations

import json

import pytest

from deeploop.cli import main
from deeploop.runs import list_runs
from tests.helpers import OWN_DRILLS, OWN_RUNS


def digest(records) -> list[dict]:
    """What a node run did, without its ids and times."""
    out = []
    for record in records:
        events = record.journal.events
        out.append({
            "outcome": {k: v for k, v in record.outcome.items() if k != "run_id"},
            "outputs": [e["output"] for e in events if e["type"] == "agent_output"],
            "lessons_at_start": next(e["lessons"] for e in events if e["type"] == "run_started"),
            "promoted": [e["key"] for e in events if e["type"] == "lesson_promoted"],
        })
    return out


def test_the_node_runs_are_what_two_meta_loop_sessions_make_today(commit_node, runs_root,
                                                                   capsys):
    seed = str(commit_node / "sample-seed.md")
    for runs in ("4", "2"):  # the commands in tests/fixtures/README.md
        assert main(["meta-loop", "commit-msg", "--seed", seed, "--runs", runs,
                     "--hard-cap", "3", "--model", "mock:commit-msg", "--no-report"]) == 0
    capsys.readouterr()
    made = digest(list_runs("commit-msg", root=runs_root))
    shipped = digest(list_runs("commit-msg", root=OWN_RUNS))
    assert [r["outcome"]["final_score"] for r in shipped] == [0.25, 0.25, 0.75, 0.75, 1.0, 1.0]
    assert made == shipped
    seeds = {(run / "seed.md").read_text() for run in (OWN_RUNS / "commit-msg").iterdir()}
    assert seeds == {(commit_node / "sample-seed.md").read_text()}


@pytest.mark.parametrize("name, outcome", [("legacy-branch", False), ("legacy-chain", False),
                                           ("legacy-capped", True), ("legacy-open", False)])
def test_the_legacy_drills_keep_their_legacy_traits(name, outcome):
    run = OWN_DRILLS / name
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert {e["run_id"] for e in events} == {name} and {e["node"] for e in events} == {"deeper"}
    assert not any(e["type"] in ("run_started", "drill_adopted") for e in events)
    assert (run / "outcome.json").exists() == outcome
    tree = json.loads((run / "tree.json").read_text())
    assert set(tree) == {"root", "cursor"}
    assert (run / "seed.md").read_text() == f"# Starting claim\n\n{tree['root']['claim']}\n"


def test_legacy_traits_are_all_covered():
    """Between them: events without round, a cursor path, bedrock marker children."""
    drills = sorted(OWN_DRILLS.iterdir())
    events = [json.loads(line) for run in drills
              for line in (run / "events.jsonl").read_text().splitlines()]
    assert any("round" not in e for e in events)
    cursors = [json.loads((run / "tree.json").read_text())["cursor"] for run in drills]
    assert [1, 0] in cursors and None in cursors
    text = "".join((run / "tree.json").read_text() for run in drills)
    assert text.count('"claim": "(bedrock declared at: ') == 4
