from deeploop.research.report_doc import (CITATION, SECTIONS, add_sources, append_to_section,
                                          new_report, section_for)


def test_new_report_has_the_nine_sections_in_order():
    text = new_report("Structured concurrency")
    assert text.startswith("# Structured concurrency — Research Report\n")
    assert [l[3:] for l in text.splitlines() if l.startswith("## ")] == SECTIONS


def test_append_to_section_keeps_other_sections():
    text = new_report("T")
    once = append_to_section(text, "Standards & Protocols", "A ([S](a.md)).")
    twice = append_to_section(once, "Standards & Protocols", "B ([S](b.md)).")
    body = twice.split("## Standards & Protocols\n")[1].split("## Security")[0]
    assert body == "\nA ([S](a.md)).\n\nB ([S](b.md)).\n\n"
    assert twice.replace(body, "\n") == text.replace("## Standards & Protocols\n\n",
                                                     "## Standards & Protocols\n\n")


def test_sources_are_listed_once():
    text = add_sources(new_report("T"), [("a.md", "a.md#intro"), ("b", "b.md")])
    text = add_sources(text, [("a.md", "a.md#intro")])
    assert text.count("(a.md#intro)") == 1 and text.rstrip().endswith("- [b](b.md)")


def test_sections_for_questions():
    assert section_for("What security risks does pickle have?") == \
        "Security Models & Attack Surfaces"
    assert section_for("Which PEP defines task groups?") == "Standards & Protocols"
    assert section_for("Why does X exist?") == "The Problem Space"
    assert CITATION.findall("a ([A](x.md#s)) b ([B](https://y))") == [
        ("A", "x.md#s"), ("B", "https://y")]
