"""Two views of a drill tree: the reference's text and a notebook-safe HTML.

``render_text`` reproduces the reference's ``render.sh`` byte for byte,
quirks included: a cursor at the root (``[]``) is not marked, because the
reference turned an empty cursor into "no cursor".

``render_html`` draws chains of single children flat, with their depths in
a gutter, and nests ``<details>`` only where the tree branches (open along
the cursor path, all open when the drill is finished), with bedrock badges;
indentation is capped, so any depth reads at any width. The walk is here;
the markup is the autoescaped template ``drill.html.j2`` (notebook
templates), which uses only tags, attributes and inline styles that
Jupyter's sanitizer keeps for untrusted notebooks and that nbconvert copies
as they are: no scripts, no ``<style>`` blocks, no classes that need a
stylesheet.
"""
from __future__ import annotations

from ..templating import fragment, safe
from .tree import MARKER_PREFIX, Node, Tree, iter_nodes

MAX_INDENT = 6   # branch levels that indent; deeper ones sit flush (their depth is written)
FOLD_AFTER = 12  # a chain longer than this folds its middle into a <details>
TEMPLATE = "drill.html.j2"  # the tree, its shape and the drill widget's lines


def bedrock_leaves(tree: Tree) -> list[tuple[int, str, Node]]:
    """(depth, category, node) for every closed leaf, in pre-order."""
    return [(depth, node.bedrock, node) for node, depth, _ in iter_nodes(tree.root)
            if not node.children and node.bedrock]


def render_text(tree: Tree) -> str:
    lines = ["# Depth tree", "", "## Bedrock", ""]
    closed = bedrock_leaves(tree)
    if closed:
        lines += [f"- [{cat}] (depth {depth}) {node.claim}" for depth, cat, node in closed]
    else:
        lines.append("(none yet)")
    lines += ["", "## Tree", ""]
    cursor = tuple(tree.cursor or (-1,))  # the reference's quirk: [] marks nothing
    for node, depth, path in iter_nodes(tree.root):
        tag = "?" if node.tag is None else node.tag
        bedrock = f"  [BEDROCK:{node.bedrock}]" if node.bedrock else ""
        mark = "  <-- CURSOR" if path == cursor else ""
        lines.append(f"{'  ' * depth}- [{tag}]{bedrock} {node.claim}{mark}")
    return "\n".join(lines) + "\n"


def render_html(tree: Tree, title: str = "Depth tree") -> str:
    status = "finished" if tree.finished else f"active at depth {len(tree.cursor)}"
    bedrock = [{"category": cat, "depth": claim_depth(node, depth), "node": node,
                "claim": _closed_claim(node)} for depth, cat, node in bedrock_leaves(tree)]
    return fragment(TEMPLATE, "tree", title, tree.root, status, bedrock, _walk(tree))


def summary_html(summary: str, tree: Tree) -> str:
    """A one-line summary above the tree (a drill in a terminal or a notebook)."""
    return fragment(TEMPLATE, "summary", summary, safe(render_html(tree)))


def claim_depth(leaf: Node, depth: int) -> int:
    """The depth of the claim a bedrock leaf closes: a marker sits one below it."""
    return depth - 1 if leaf.claim.startswith(MARKER_PREFIX) and depth > 0 else depth


def _closed_claim(marker: Node) -> str:
    """The claim a marker closes, without the marker's wording."""
    text = marker.claim
    if text.startswith(MARKER_PREFIX) and text.endswith(")"):
        return text[len(MARKER_PREFIX):-1]
    return text


def _walk(tree: Tree) -> list[dict]:
    """The tree as a flat list of what to draw, indentation only where it branches.

    A chain of single children is drawn flat (a ``chain``: one row per claim
    with its depth in a gutter); each child of a branching claim is a
    collapsible ``<details>`` (``open`` ... ``close``; open along the cursor
    path, all open when finished) indented one step, up to ``MAX_INDENT``
    steps: deeper branches sit flush, their summary naming the depth they
    start from. So a 50-level drill reads like a list, and width stays for
    the words at any depth. Walks with an explicit stack and gives the
    template a flat list: no recursion limit on either side."""
    cursor = tree.cursor
    out: list[dict] = []
    stack: list = [("chain", tree.root, 0, (), 0)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.append(item)
            continue
        _, node, depth, path, level = item
        rows = []
        while True:
            rows.append({"node": node, "depth": depth, "cursor": path == cursor})
            if len(node.children) != 1:
                break
            node, depth, path = node.children[0], depth + 1, path + (0,)
        out.append({"kind": "chain", "rows": rows, "first": depth - len(rows) + 1,
                    "last": depth, "fold_after": FOLD_AFTER})
        branches: list = []
        for index, child in enumerate(node.children if len(node.children) > 1 else ()):
            child_path = path + (index,)
            is_open = cursor is None or tuple(cursor[:len(child_path)]) == child_path
            branches += [_branch(child, index, len(node.children), depth, is_open,
                                 flush=level >= MAX_INDENT),
                         ("chain", child, depth + 1, child_path, level + 1),
                         {"kind": "close"}]
        stack.extend(reversed(branches))
    return out


def _branch(child: Node, index: int, count: int, depth: int, is_open: bool,
            flush: bool) -> dict:
    end, node = depth + 1, child
    while len(node.children) == 1:
        node, end = node.children[0], end + 1
    reach = f"d{depth + 1}" if end == depth + 1 else f"d{depth + 1}–d{end}"
    state = f"{child.closed} of {child.leaves} at bedrock" if child.leaves > 1 else \
        ("bedrock" if child.closed else "open")
    return {"kind": "open", "open": is_open, "flush": flush, "index": index + 1, "count": count,
            "depth": depth, "reach": reach, "state": state,
            "claim": _short(_closed_claim(child), 90)}


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
