import pytest

from deeploop.research.judge import claims
from deeploop.research.report_doc import CITATION, LOW_FLAG
from deeploop.research.sources import get_source
from deeploop.research.extractive import synthesise


@pytest.fixture
def collection(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "trio.md").write_text(
        "# Cancel scopes\n\nA cancel scope cancels every task inside it when its deadline "
        "expires. Cancel scopes nest, and the innermost expired deadline wins.\n\n"
        "# Nurseries\n\nA nursery waits for all of its child tasks before it exits. "
        "The `open_nursery` function creates one.\n")
    (docs / "anyio.md").write_text(
        "# Cancellation\n\nIn AnyIO a cancel scope cancels every task inside it once the "
        "deadline expires. Task groups wrap cancel scopes.\n")
    (docs / "misc.md").write_text("# Other\n\nThe garden needs water every evening in summer.\n")
    return get_source(f"local:{docs}")


def test_two_agreeing_sources_give_a_high_cited_answer(collection):
    question = "What happens when a cancel scope deadline expires?"
    finding = synthesise(question, collection.search(question, k=5, max_per_doc=2))
    assert finding.confidence == "HIGH" and finding.status == "answered"
    assert {s.split("#")[0] for s in finding.sources} == {"trio.md", "anyio.md"}
    block = finding.report_block()
    assert block.startswith(f"### {question}\n")
    sentences = claims(block.splitlines())
    assert len(sentences) >= 2 and all(CITATION.search(s) for s in sentences)
    assert "garden" not in block and LOW_FLAG not in block


def test_a_single_thin_source_is_low_and_flagged(collection):
    question = "Why does the garden need water?"
    finding = synthesise(question, collection.search(question, k=5))
    assert finding.confidence == "LOW" and finding.status == "partial"
    assert LOW_FLAG in finding.report_block()


def test_nothing_relevant_writes_no_claims(collection):
    finding = synthesise("How do quantum computers factor integers?", [])
    assert finding.sentences == [] and finding.status == "partial"
    assert not CITATION.search(finding.report_block())


def test_follow_ups_name_apis_the_sources_mention(collection):
    question = "How do nurseries wait for child tasks?"
    finding = synthesise(question, collection.search(question, k=5))
    assert "What is open_nursery used for?" in finding.gaps
