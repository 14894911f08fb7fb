"""Views: the reference's exact text, and HTML that survives untrusted notebooks."""
from html.parser import HTMLParser

import pytest

from .drill_helpers import (LEGACY, LEGACY_BRANCH, OWN_DRILLS, SMOKE_BRANCH, legacy_drills,
                            pure_drill, recordings)
from deeploop.drill import load_tree, new_tree, render_html, render_text
from deeploop.drill.render import MAX_INDENT


def test_a_legacy_tree_renders_in_the_reference_format():
    assert render_text(load_tree(OWN_DRILLS / "legacy-branch" / "tree.json")) == LEGACY_BRANCH


@recordings
def test_smoke_branch_renders_exactly_as_the_reference():
    assert render_text(load_tree(LEGACY / "smoke-branch" / "tree.json")) == SMOKE_BRANCH


def test_open_tree_marks_the_cursor_and_says_none_yet():
    _, _, _, tree = pure_drill(["cause A", "BRANCH:cause B"])
    assert render_text(tree) == (
        "# Depth tree\n\n## Bedrock\n\n(none yet)\n\n## Tree\n\n"
        "- [from-user] root claim\n"
        "  - [from-user] cause A\n"
        "  - [from-user] cause B  <-- CURSOR\n")


def test_cursor_at_root_is_not_marked_like_the_reference():
    assert render_text(new_tree("r")).endswith("## Tree\n\n- [from-user] r\n")


# Jupyter's sanitizer (JupyterLab apputils) keeps these tags and attributes
# in untrusted notebooks; anything else is stripped.
ALLOWED_TAGS = {"div", "span", "details", "summary", "strong", "em", "ul", "li", "code", "b",
                "i", "small"}
ALLOWED_ATTRS = {"style", "title", "open", "class"}


class _Audit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.stack, self.text = set(), set(), [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data):
        self.text.append(data)


def _audit(html: str) -> _Audit:
    audit = _Audit()
    audit.feed(html)
    audit.close()
    assert not audit.stack, f"unclosed tags: {audit.stack}"
    return audit


@pytest.mark.parametrize("run", legacy_drills())
def test_legacy_trees_render_both_ways(run):
    tree = load_tree(run / "tree.json")
    assert render_text(tree).startswith("# Depth tree\n")
    audit = _audit(render_html(tree))
    assert audit.tags <= ALLOWED_TAGS and audit.attrs <= ALLOWED_ATTRS


def test_html_is_escaped_balanced_and_sanitizer_safe():
    _, _, _, tree = pure_drill(["<script>alert(1)</script>", "b & <i>", "BRANCH:c",
                                "BEDROCK:empirical — <b>measured</b>"])
    html = render_html(tree)
    audit = _audit(html)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert audit.tags <= ALLOWED_TAGS and audit.attrs <= ALLOWED_ATTRS
    assert "onclick" not in html and "<style" not in html


def test_html_opens_the_cursor_path_only():
    _, _, _, tree = pure_drill(["a", "b", "BRANCH:c", "BEDROCK:identity"])
    # the cursor went back to b; c (closed by its marker) is off the path and stays shut
    html = render_html(tree)
    assert html.count("<details open>") == 1  # b: root and a are a flat chain above it
    assert html.count("<details>") == 1       # c
    assert "CURSOR" in html and "BEDROCK · identity" in html and "depth 3" in html
    assert html.index("CURSOR") < html.index("<details>")  # on b, before c
    assert "branch 1 of 2 from d1" in html and "branch 2 of 2 from d1" in html


def test_bedrock_list_gives_the_depth_of_the_claim_it_closes():
    _, _, _, tree = pure_drill(["a", "b", "c", "BEDROCK:constraint"])
    html = render_html(tree)
    # c is shown at d3; its marker sits at d4 (the reference's text says depth 4)
    assert 'title="depth 3">d3</span>' in html and "(depth 4)" in render_text(tree)
    bedrock = html[html.index("Bedrock:"):html.index("</ul>")]
    assert ">d3</span> c" in bedrock


def _indent(html: str) -> tuple[int, int]:
    """(deepest margin-left total in px, deepest <details> nesting) of an HTML fragment."""
    import re

    class Depth(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack, self.margin, self.details = [], 0, 0

        def handle_starttag(self, tag, attrs):
            style = dict(attrs).get("style") or ""
            found = re.search(r"margin-left:\s*(\d+)px", style)
            self.stack.append((tag, int(found.group(1)) if found else 0))
            self.margin = max(self.margin, sum(m for _, m in self.stack))
            self.details = max(self.details, sum(t == "details" for t, _ in self.stack))

        def handle_endtag(self, tag):
            self.stack.pop()

    parser = Depth()
    parser.feed(html)
    return parser.margin, parser.details


def test_a_50_level_drill_has_bounded_indentation():
    chain = [f"reason number {n} behind the one above it" for n in range(1, 51)]
    _, _, _, tree = pure_drill(chain + ["BEDROCK:constraint — it is how the world is"])
    html = render_html(tree)
    margin, details = _indent(html)
    assert margin == 0 and details == 1  # one flat chain, its middle folded
    assert 'title="depth 50">d50</span>' in html and "d1 … d50: 50 steps" in html
    # a branch at every level: indentation stops growing after MAX_INDENT levels
    answers = []
    for n in range(1, 41):
        answers += [f"cause {n}", f"BRANCH:sibling {n}"]
    _, _, _, bushy = pure_drill(answers)
    margin, _ = _indent(render_html(bushy))
    assert 0 < margin <= MAX_INDENT * 10


def test_finished_tree_opens_everything_and_lists_bedrock():
    _, _, _, tree = pure_drill(["a", "BEDROCK:constraint — the budget is fixed"])
    html = render_html(tree)
    assert "<details>" not in html
    assert "the budget is fixed" in html and "1 of 1 leaves at bedrock" in html


@pytest.mark.parametrize("run, opened, bedrock, claim", [
    (OWN_DRILLS / "legacy-branch", 2, "BEDROCK · prior-decision",
     "we chose one shared database to save money in 2019"),
    pytest.param(LEGACY / "smoke-branch", 2, "BEDROCK · prior-decision",
                 "rethink — A traces back to choice X", marks=recordings)])
def test_html_survives_nbconvert(tmp_path, run, opened, bedrock, claim):
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    tree = load_tree(run / "tree.json")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("tree")
    cell.outputs = [nbformat.v4.new_output("execute_result", data={
        "text/html": tree._repr_html_(), "text/plain": render_text(tree)}, execution_count=1)]
    nb.cells.append(cell)
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    assert body.count("<details open") == opened  # one per branch; nbconvert may write open=""
    assert "<summary>" in body
    assert bedrock in body
    assert claim in body
