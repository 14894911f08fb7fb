from deeploop.meta.program import program_version, rewrite_strategy, strategy_section

DOC = """# Program

**Version:** v3
**Last rewritten by:** a person

## Goal
lowest val_bpb

## Current Strategy

old idea
### detail
more

## Rules
never touch prepare
"""


def test_only_the_strategy_section_changes():
    out = rewrite_strategy(DOC, "new idea\n- try X", stamp="2026-11-21 10:00:00")
    assert strategy_section(out) == "new idea\n- try X"
    assert program_version(out) == 4
    assert "**Last rewritten by:** meta-agent (2026-11-21 10:00:00)" in out
    before, after = DOC.split("## Current Strategy"), out.split("## Current Strategy")
    assert after[0].replace("v4", "v3").replace(
        "meta-agent (2026-11-21 10:00:00)", "a person") == before[0]
    assert after[1].endswith("## Rules\nnever touch prepare\n")


def test_missing_section_is_added_and_the_rest_untouched():
    doc = "# P\n\nSome text.\n"
    out = rewrite_strategy(doc, "S", stamp="t")
    assert out.endswith("Some text.\n\n## Current Strategy\n\nS\n")
    assert program_version(out) == 1 and "Some text.\n" in out
    assert program_version(rewrite_strategy(out, "T", stamp="t2")) == 2
