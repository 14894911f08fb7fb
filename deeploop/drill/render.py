"""Two views of a drill tree: the reference's text and a notebook-safe HTML.

``render_text`` reproduces the reference's ``render.sh`` byte for byte,
quirks included: a cursor at the root (``[]``) is not marked, because the
reference turned an empty cursor into "no cursor".

``render_html`` draws chains of single children flat, with their depths in
a gutter, and nests ``<details>`` only where the tree branches (open along
the cursor path, all open when the drill is finished), with bedrock badges;
indentation is capped, so any depth reads at any width. It uses
only tags, attributes and inline styles that Jupyter's sanitizer keeps for
untrusted notebooks and that nbconvert copies as they are: no scripts, no
``<style>`` blocks, no classes that need a stylesheet.
"""
from __future__ import annotations

from html import escape

from .tree import MARKER_PREFIX, Node, Tree, iter_nodes

MAX_INDENT = 6   # branch levels that indent; deeper ones sit flush (their depth is written)
FOLD_AFTER = 12  # a chain longer than this folds its middle into a <details>
# Text and borders follow JupyterLab's theme (--jp-* variables, light fallbacks);
# badges are white on a dark fill, readable on light and dark pages alike.
_TEXT = "var(--jp-content-font-color1, #1f2328)"
_GREY = "color: var(--jp-content-font-color2, #57606a)"
_GUTTER = ("flex: none; min-width: 2.4em; text-align: right; "
           "color: var(--jp-content-font-color2, #57606a); font-variant-numeric: tabular-nums")
_BADGE = ("background-color: #166534; color: #ffffff; border-radius: 4px; "
          "padding: 0px 5px; font-size: 11px; font-weight: bold")
_CURSOR = ("background-color: #1d4ed8; color: #ffffff; border-radius: 4px; "
           "padding: 0px 5px; font-size: 11px")
_NEST = ("margin-left: 10px; padding-left: 8px; "
         "border-left: 1px solid var(--jp-border-color2, #d0d7de)")
_FLUSH = "padding-left: 4px; border-left: 1px dashed var(--jp-border-color2, #d0d7de)"


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
    root = tree.root
    status = "finished" if tree.finished else f"active at depth {len(tree.cursor)}"
    parts = [
        f'<div style="font-family: sans-serif; font-size: 13px; line-height: 1.5; '
        f'color: {_TEXT}">',
        f"<div><strong>{escape(title)}</strong> "
        f'<span style="{_GREY}">· {root.closed} of {root.leaves} leaves at bedrock · '
        f"max depth {root.height} · {status}</span></div>",
        _bedrock_list(tree),
    ]
    parts.append(_tree_html(tree))
    parts.append("</div>")
    return "".join(parts)


def _bedrock_list(tree: Tree) -> str:
    closed = bedrock_leaves(tree)
    if not closed:
        return f'<div style="{_GREY}">Bedrock: (none yet)</div>'
    items = "".join(f"<li>{_badge(cat)} <span style=\"{_GREY}\">d{claim_depth(node, depth)}"
                    f"</span> {escape(_closed_claim(node))}{_rationale(node)}</li>"
                    for depth, cat, node in closed)
    return f'<div>Bedrock:</div><ul style="margin-top: 0px">{items}</ul>'


def claim_depth(leaf: Node, depth: int) -> int:
    """The depth of the claim a bedrock leaf closes: a marker sits one below it."""
    return depth - 1 if leaf.claim.startswith(MARKER_PREFIX) and depth > 0 else depth


def _closed_claim(marker: Node) -> str:
    """The claim a marker closes, without the marker's wording."""
    text = marker.claim
    if text.startswith(MARKER_PREFIX) and text.endswith(")"):
        return text[len(MARKER_PREFIX):-1]
    return text


def _tree_html(tree: Tree) -> str:
    """The tree with indentation only where it branches.

    A chain of single children is drawn flat, one row per claim with its
    depth in a gutter; each child of a branching claim is a collapsible
    ``<details>`` (open along the cursor path, all open when finished)
    indented one step, up to ``MAX_INDENT`` steps: deeper branches sit
    flush, their summary naming the depth they start from. So a 50-level
    drill reads like a list, and width stays for the words at any depth.
    Walks with an explicit stack (no recursion limit)."""
    cursor = tree.cursor
    out: list[str] = []
    stack: list[tuple] = [("chain", tree.root, 0, (), 0)]
    while stack:
        item = stack.pop()
        if item[0] == "html":
            out.append(item[1])
            continue
        _, node, depth, path, level = item
        rows = []
        while True:
            rows.append(_row(node, depth, path == cursor))
            if len(node.children) != 1:
                break
            node, depth, path = node.children[0], depth + 1, path + (0,)
        out.append(_chain(rows, depth - len(rows) + 1, depth))
        branches = []
        for index, child in enumerate(node.children if len(node.children) > 1 else ()):
            child_path = path + (index,)
            is_open = cursor is None or tuple(cursor[:len(child_path)]) == child_path
            nest = _NEST if level < MAX_INDENT else _FLUSH
            summary = _branch_summary(child, index, len(node.children), depth)
            branches += [("html", f"<details{' open' if is_open else ''}><summary>{summary}"
                                  f'</summary><div style="{nest}">'),
                         ("chain", child, depth + 1, child_path, level + 1),
                         ("html", "</div></details>")]
        stack.extend(reversed(branches))
    return "".join(out)


def _chain(rows: list[str], first: int, last: int) -> str:
    """A run of single children; a long one folds its middle (open by default)."""
    if len(rows) <= FOLD_AFTER:
        return "<div>" + "".join(rows) + "</div>"
    middle = "".join(rows[1:-1])
    return (f"<div>{rows[0]}<details open><summary><span style=\"{_GREY}\">d{first + 1} … "
            f"d{last - 1}: {len(rows) - 2} steps, one reason each</span></summary>{middle}"
            f"</details>{rows[-1]}</div>")


def _branch_summary(child: Node, index: int, count: int, depth: int) -> str:
    end, node = depth + 1, child
    while len(node.children) == 1:
        node, end = node.children[0], end + 1
    reach = f"d{depth + 1}" if end == depth + 1 else f"d{depth + 1}–d{end}"
    state = f"{child.closed} of {child.leaves} at bedrock" if child.leaves > 1 else \
        ("bedrock" if child.closed else "open")
    return (f'<span style="{_GREY}">branch {index + 1} of {count} from d{depth} · {reach} · '
            f"{state}:</span> {escape(_short(_closed_claim(child), 90))}")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _row(node: Node, depth: int, at_cursor: bool) -> str:
    return (f'<div style="display: flex; gap: 6px"><span style="{_GUTTER}" title="depth {depth}">'
            f'd{depth}</span><span style="flex: 1 1 auto; min-width: 0px; '
            f'overflow-wrap: anywhere">{_line(node, at_cursor)}</span></div>')


def _line(node: Node, at_cursor: bool) -> str:
    tag = "?" if node.tag is None else node.tag
    bits = [f'<span style="{_GREY}">[{escape(tag)}]</span>']
    if node.bedrock:
        bits.append(_badge(node.bedrock))
    bits.append(f'<span style="white-space: pre-wrap">{escape(node.claim)}</span>')
    if node.bedrock:
        bits.append(_rationale(node))
    if at_cursor:
        bits.append(f'<span style="{_CURSOR}">CURSOR</span>')
    return " ".join(b for b in bits if b)


def _badge(category: str) -> str:
    return f'<span style="{_BADGE}">BEDROCK · {escape(category)}</span>'


def _rationale(node: Node) -> str:
    if not node.rationale:
        return ""
    return f' <em style="{_GREY}">— {escape(node.rationale)}</em>'
