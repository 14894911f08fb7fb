"""notebooks/research_session.ipynb runs headless, offline, on the sample collection."""
from __future__ import annotations

import json

from deeploop.notebook.parameters import read_parameters
from deeploop.notebook.session import run_session
from tests.helpers import REPO

NOTEBOOK = REPO / "notebooks" / "research_session.ipynb"


def test_the_parameters_cell_documents_every_parameter():
    declared = read_parameters(NOTEBOOK)
    assert list(declared) == ["tag", "topic", "questions", "entries", "sources", "synthesizer",
                              "max_usd", "seed", "run_dir"]
    assert all(p.hint and p.help for p in declared.values())


def test_a_headless_session_researches_and_ends_with_the_report(runs_root):
    result = run_session(NOTEBOOK, {"tag": "nb", "entries": "5"}, progress=False,
                         from_cli={"tag", "entries"})
    folder = runs_root / "research" / "nb"
    assert result.run_dir == folder and result.headline["label"] == "HIGH-confidence entries"
    outcome = json.loads((folder / "outcome.json").read_text())
    assert outcome["status"] == "passed" and outcome["entries"] == 5 and outcome["cohorts"] == 1
    assert (folder / "report.html").is_file() and (folder / "session.ipynb").is_file()
    first = (folder / "workspace" / "knowledge_index.tsv").read_text().splitlines()[1]
    assert first.startswith("How do asyncio tasks get cancelled?\t")
