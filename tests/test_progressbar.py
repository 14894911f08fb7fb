"""The one event-fed tqdm bar, and the research loop's use of it."""
from __future__ import annotations

from deeploop.progressbar import EventBar
from deeploop.research.progress import ResearchProgress


def test_steps_stop_at_the_total_and_count_when_disabled():
    bar = EventBar(2, 1, unit="x", desc="d", disable=True)
    bar.step()
    bar.step()
    assert bar.done == 2
    bar.show("a | b")
    assert bar.postfix == "a | b"
    bar.note("never printed")  # disabled: silent
    bar.close()


def test_a_shown_bar_counts_in_tqdm_too(capsys):
    bar = EventBar(3, 5, unit="x", desc="d")  # more done than the total: capped
    assert bar.done == 3 and bar.bar.n == 3
    bar.note("a line above")
    bar.close()
    assert "a line above" in capsys.readouterr().out


def test_research_progress_follows_events():
    bar = ResearchProgress(total=3, done=1, high=1, disable=True)
    assert bar.postfix == "HIGH 1/1"
    bar({"type": "research_started", "question": "why " * 20})
    assert bar.postfix.startswith("HIGH 1/1 | why why") and bar.postfix.endswith("…")
    bar({"type": "research_result", "confidence": "HIGH"})
    bar({"type": "research_result", "confidence": "LOW"})
    bar({"type": "research_result", "confidence": "HIGH"})  # past the total: not counted
    assert bar.done == 3 and bar.postfix == "HIGH 3/3"
    bar({"type": "something_else"})
    assert bar.postfix == "HIGH 3/3"
    bar.close()
