"""Two views of a drill tree: the reference's text and a notebook-safe HTML.

``render_text`` reproduces the reference's ``render.sh`` byte for byte,
quirks included: a cursor at the root (``[]``) is not marked, because the
reference turned an empty cursor into "no cursor".

``render_html`` is nested ``<details>`` (open along the cursor path, all
open when the drill is finished) with bedrock badges and depths. It uses
only tags, attributes and inline styles that Jupyter's sanitizer keeps for
untrusted notebooks and that nbconvert copies as they are: no scripts, no
``<style>`` blocks, no classes that need a stylesheet.
"""
from __future__ import annotations

from html import escape

from .tree import Node, Tree, iter_nodes

_GREY = "color: #6b7280"
_BADGE = ("background-color: #166534; color: #ffffff; border-radius: 4px; "
          "padding: 0px 5px; font-size: 11px; font-weight: bold")
_CURSOR = ("background-color: #1d4ed8; color: #ffffff; border-radius: 4px; "
           "padding: 0px 5px; font-size: 11px")
_NEST = "margin-left: 14px; padding-left: 8px; border-left: 1px solid #d1d5db"


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
        '<div style="font-family: sans-serif; font-size: 13px; line-height: 1.5">',
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
    items = "".join(f"<li>{_badge(cat)} <span style=\"{_GREY}\">depth {depth}</span> "
                    f"{escape(_closed_claim(node))}{_rationale(node)}</li>"
                    for depth, cat, node in closed)
    return f'<div>Bedrock:</div><ul style="margin-top: 0px">{items}</ul>'


def _closed_claim(marker: Node) -> str:
    """The claim a marker closes, without the marker's wording."""
    text = marker.claim
    if text.startswith("(bedrock declared at: ") and text.endswith(")"):
        return text[len("(bedrock declared at: "):-1]
    return text


def _tree_html(tree: Tree) -> str:
    """Pre-order walk that opens and closes <details> without recursion."""
    cursor = tree.cursor
    out = []
    closers = []  # (depth, html to close) for open <details>/<div> containers
    for node, depth, path in iter_nodes(tree.root):
        while closers and closers[-1][0] >= depth:
            out.append(closers.pop()[1])
        line = _line(node, depth, path == cursor)
        if not node.children:
            out.append(f"<div>{line}</div>")
            continue
        is_open = cursor is None or cursor[:len(path)] == path
        out.append(f"<details{' open' if is_open else ''}><summary>{line}</summary>"
                   f'<div style="{_NEST}">')
        closers.append((depth, "</div></details>"))
    out.extend(html for _, html in reversed(closers))
    return "".join(out)


def _line(node: Node, depth: int, at_cursor: bool) -> str:
    tag = "?" if node.tag is None else node.tag
    bits = [f'<span style="{_GREY}" title="depth {depth}">d{depth} [{escape(tag)}]</span>']
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
