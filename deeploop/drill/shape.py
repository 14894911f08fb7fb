"""The shape of a drill tree as a small static SVG node-link picture.

For trees too big to take in from the indented text (above ``MIN_NODES``):
depth runs left to right, leaves top to bottom, so a long chain is a
horizontal line and every branching is visible at a glance. Bedrock leaves
are green, the cursor blue, open leaves amber; hovering a dot shows its
depth and claim. Static markup only (no script), sized to fit its column;
the markup is the ``shape`` macro of ``drill.html.j2``.
"""
from __future__ import annotations

from ..templating import fragment
from .render import TEMPLATE
from .tree import MARKER_PREFIX, Node, Tree

MIN_NODES = 30
_COLOURS = {"bedrock": "#2ca02c", "cursor": "#1d4ed8", "open": "#d97706"}


def node_count(tree: Tree) -> int:
    count, stack = 0, [tree.root]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(node.children)
    return count


def _layout(tree: Tree) -> list[tuple[Node, int, tuple, float, tuple | None]]:
    """(node, depth, path, row, parent path) with each leaf on its own row and a
    parent centred on its children. Iterative: any depth."""
    placed: dict[tuple, float] = {}
    order: list[tuple[Node, int, tuple, tuple | None]] = []
    stack = [(tree.root, 0, (), None, False)]
    leaf = 0
    while stack:
        node, depth, path, parent, done = stack.pop()
        if not node.children:
            placed[path] = leaf
            leaf += 1
            order.append((node, depth, path, parent))
        elif done:
            rows = [placed[path + (i,)] for i in range(len(node.children))]
            placed[path] = (rows[0] + rows[-1]) / 2
            order.append((node, depth, path, parent))
        else:
            stack.append((node, depth, path, parent, True))
            for i in range(len(node.children) - 1, -1, -1):
                stack.append((node.children[i], depth + 1, path + (i,), path, False))
    return [(n, d, p, placed[p], q) for n, d, p, q in order]


def shape_svg(tree: Tree, width: int = 760) -> str:
    nodes = _layout(tree)
    depth = max(d for _, d, _, _, _ in nodes) or 1
    leaves = max(r for _, _, _, r, _ in nodes) + 1
    dx = max(4.0, min(28.0, (width - 24) / depth))
    dy = max(3.0, min(12.0, 480 / leaves))
    high = round(leaves * dy + 16)
    wide = round(depth * dx + 24)
    where = {p: (12 + d * dx, 8 + r * dy) for _, d, p, r, _ in nodes}
    lines = []
    for _, _, path, _, parent in nodes:
        if parent is not None:
            (x1, y1), (x2, y2) = where[parent], where[path]
            lines.append(f"M{x1:.1f} {y1:.1f}V{y2:.1f}H{x2:.1f}")
    cursor = tuple(tree.cursor) if tree.cursor is not None else None
    dots = []
    for node, d, path, _, _ in nodes:
        x, y = where[path]
        kind = "bedrock" if node.bedrock else "cursor" if path == cursor else \
            "open" if not node.children else ""
        colour = _COLOURS.get(kind, "currentColor")
        claim = node.claim[len(MARKER_PREFIX):-1] if node.claim.startswith(MARKER_PREFIX) \
            else node.claim
        label = f"d{d}{' · ' + kind if kind else ''}: {claim[:100]}"
        dots.append({"x": x, "y": y, "r": 2.6 if kind else 1.8, "colour": colour,
                     "label": label})
    return fragment(TEMPLATE, "shape", wide, high, len(nodes), depth, leaves,
                    "".join(lines), dots)
