from deeploop.meta.cohort import cohort_metrics, question_type, render_cohort_entry, split_cohorts


def row(q, conf, sources, searches):
    return {"question": q, "confidence": conf, "sources": "|".join(sources),
            "search_count": str(searches)}


ROWS = [row("What is X?", "HIGH", ["a", "b"], 2), row("How does Y work?", "LOW", ["a"], 1),
        row("Why Z?", "MEDIUM", ["c"], 3), row("Who builds X?", "HIGH", ["a", "b", "c"], 4),
        row("X vs Y?", "LOW", [], 1),
        row("What is W?", "HIGH", ["a", "b"], 2), row("How is V?", "HIGH", ["d", "e"], 2),
        row("What is U?", "HIGH", ["f", "g"], 2), row("Why T?", "MEDIUM", ["h"], 2),
        row("What is S?", "HIGH", ["i", "j"], 2)]


def test_question_types():
    assert [question_type(r["question"]) for r in ROWS[:5]] == [
        "what", "how", "why", "who", "comparison"]


def test_metrics_and_entry():
    previous, last, number = split_cohorts(ROWS)
    assert number == 2 and len(previous) == len(last) == 5
    m = cohort_metrics(last)
    assert (m.entries, m.high_pct, m.medium_pct, m.low_pct) == (5, 80.0, 20.0, 0.0)
    assert m.avg_sources == 1.8 and m.avg_searches == 2.0
    entry = render_cohort_entry(previous, last, number, date="2026-11-21", version_from=1,
                                version_to=2, worked=["two sources per question"], didnt=[],
                                change=["prefer what-questions"])
    assert entry.startswith("### Cohort 1 → 2 Analysis (2026-11-21)\n")
    assert "| HIGH confidence % | 40 | 80 | +40 |" in entry
    assert "| LOW confidence % | 40 | 0 | -40 |" in entry
    assert "- what: 3 entries, 100% HIGH, 2.0 sources" in entry
    assert "**What didn't work:**\n- (nothing to note)" in entry


def test_first_cohort_has_an_empty_predecessor():
    previous, last, number = split_cohorts(ROWS[:7])
    assert (previous, number, len(last)) == ([], 1, 5)
