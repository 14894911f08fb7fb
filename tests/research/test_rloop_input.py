"""Bad input to research mode: one line naming the problem, nothing written;
and the command line as a person uses it."""
from __future__ import annotations

import json

import pytest

from deeploop.cli import main
from deeploop.errors import InputError, NotFound
from deeploop.research.rundir import init_research
from deeploop.research.opening import prepare

from .rloop_helpers import collection, entries, run, start  # noqa: F401


def nothing_under(root) -> bool:
    return not (root / "research").exists() or not any((root / "research").iterdir())


@pytest.mark.parametrize("spec, message", [
    ("web:anything", "unknown source spec 'web:anything': use one of local:<folder>"),
    ("local:/no/such/folder", "source folder not found: /no/such/folder"),
    ("sample:nope", "unknown sample collection 'sample:nope'"),
])
def test_a_bad_source_spec_creates_nothing(spec, message, runs_root):
    with pytest.raises(InputError, match="^" + message.replace("(", r"\(")):
        prepare("bad-source", topic="t", sources=spec)
    assert nothing_under(runs_root)


def test_an_empty_collection_says_so_and_writes_nothing(tmp_path, runs_root):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match="no documents to search in .*1 other files ignored"):
        init_research("empty", "t", f"local:{empty}")
    assert nothing_under(runs_root)
    assert sorted(p.name for p in empty.iterdir()) == ["image.png"]


def test_unusable_files_are_skipped_and_listed(collection, capsys):
    (collection / "huge.md").open("wb").truncate(25_000_000)  # sparse: never read
    (collection / "blob.txt").write_bytes(b"\x00\x01\x02binary" * 50)
    code = main(["research", "run", "--tag", "skips", "--topic", "cancel scopes", "--sources",
                 f"local:{collection}", "--entries", "1", "--no-report"])
    err = capsys.readouterr().err
    assert code == 0
    assert "skipped huge.md: too large (25.0 MB > 20 MB limit)" in err
    assert "skipped blob.txt: binary content in a text file" in err


def test_tags_topics_and_seeds_are_checked_before_anything_is_created(runs_root, collection):
    spec = f"local:{collection}"
    with pytest.raises(InputError, match="invalid tag"):
        prepare("a/b", topic="t", sources=spec)
    with pytest.raises(InputError, match="--topic is empty"):
        prepare("blank", topic="   ", sources=spec)
    with pytest.raises(InputError, match="--topic still says YOUR_TOPIC_HERE"):
        prepare("placeholder", topic="YOUR_TOPIC_HERE", sources=spec)
    with pytest.raises(InputError, match="--topic still says YOUR_TOPIC_HERE"):
        init_research("placeholder", "YOUR_TOPIC_HERE", spec)
    with pytest.raises(InputError, match="seed question must end with '\\?'"):
        prepare("seeds", topic="t", sources=spec, questions=["Tell me about scopes"])
    with pytest.raises(InputError, match="--entries must be a positive number"):
        prepare("zero", topic="t", sources=spec, entries=0)
    with pytest.raises(InputError, match="unknown synthesizer 'gpt'"):
        prepare("synth", topic="t", sources=spec, synthesizer="gpt")
    with pytest.raises(NotFound, match="no research tagged 'new': give a topic"):
        prepare("new", sources=spec)
    assert nothing_under(runs_root)


def test_a_program_md_that_is_not_utf8_is_one_line_and_changes_nothing(collection, capsys):
    run_ = init_research("latin1", "cancel scopes", f"local:{collection}")
    run_.program_path.write_bytes(run_.program_path.read_bytes() + b"\ncaf\xe9\n")
    before = {p: p.read_bytes() for p in run_.path.rglob("*") if p.is_file()}
    code = main(["research", "run", "--tag", "latin1", "--entries", "1", "--no-report"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "program.md is not UTF-8 text" in err
    assert {p: p.read_bytes() for p in run_.path.rglob("*") if p.is_file()} == before


def test_an_existing_tag_is_continued_never_recreated(collection):
    first = start("again", collection, entries=1)
    run(first)
    with pytest.raises(InputError, match="research tag 'again' already exists"):
        init_research("again", "structured concurrency", f"local:{collection}")
    with pytest.raises(InputError, match="a tag keeps its topic"):
        start("again", collection, topic="gardening")
    with pytest.raises(InputError, match="seed question 'Why\\?' is not in program.md"):
        start("again", collection, questions=["Why?"])
    more = start("again", collection, entries=2)
    run(more)
    assert len(entries(more)) == 2


def test_cli_init_then_run_then_status(collection, capsys, runs_root):
    assert main(["research", "init", "--tag", "cli", "--sources", f"local:{collection}"]) == 0
    out = capsys.readouterr().out
    assert "created" in out and "branch research/cli" in out and "4 documents" in out
    assert "next: write the topic" in out
    assert main(["research", "run", "--tag", "cli", "--entries", "3", "--no-report"]) == 2
    assert "program.md still says YOUR_TOPIC_HERE" in capsys.readouterr().err
    assert json.loads((runs_root / "research" / "cli" / "research.json").read_text())[
        "settings"]["entries"] == 10  # the refused run's --entries was not saved
    program = runs_root / "research" / "cli" / "workspace" / "program.md"
    program.write_text(program.read_text().replace("YOUR_TOPIC_HERE", "cancel scopes"))
    assert main(["research", "run", "--tag", "cli", "--entries", "2", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "research cli: passed — 2 entries recorded (target 2)" in out
    assert main(["research", "status", "--tag", "cli"]) == 0
    assert "entries: 2" in capsys.readouterr().out
    settings = json.loads((runs_root / "research" / "cli" / "research.json").read_text())
    assert settings["settings"]["entries"] == 2
    assert main(["research", "status", "--tag", "nope"]) == 2


def test_cli_run_ends_with_the_report(collection, runs_root, capsys):
    code = main(["research", "run", "--tag", "reported", "--topic", "cancel scopes",
                 "--sources", f"local:{collection}", "--entries", "2"])
    assert code == 0
    folder = runs_root / "research" / "reported"
    html = (folder / "report.html").read_text()
    assert "Knowledge index" in html and "What is cancel scopes?" in html
    assert f"report.html: {folder / 'report.html'}" in capsys.readouterr().out
    nb = json.loads((folder / "report.ipynb").read_text())
    research_cells = [c for c in nb["cells"] if "research" in c["metadata"].get("tags", [])]
    assert research_cells and all(c["outputs"] for c in research_cells)


def test_a_report_that_cannot_be_built_is_a_warning_not_a_failed_run(collection, runs_root,
                                                                     capsys, monkeypatch):
    import deeploop.notebook  # noqa: F401  installs the real builder first, as the CLI does

    def broken(run_dir, *args, **kwargs):
        raise InputError("no kernel named python3")

    monkeypatch.setattr("deeploop.reporting.report_builder", broken)
    code = main(["research", "run", "--tag", "unreported", "--topic", "cancel scopes",
                 "--sources", f"local:{collection}", "--entries", "2"])
    captured = capsys.readouterr()
    assert code == 0
    assert "research unreported: passed" in captured.out
    assert "warning: no report for" in captured.err and "no kernel named python3" in captured.err
    outcome = json.loads((runs_root / "research" / "unreported" / "outcome.json").read_text())
    assert outcome["status"] == "passed"
