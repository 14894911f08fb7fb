"""The drill tree: immutable nodes, a cursor, and the pure moves between them.

A tree is the reference's legacy shape (DESIGN.md, ``tree.json``): every node
has a ``claim``, a ``tag``, ``bedrock`` (null or a category) and
``children``; ``cursor`` is a path of child indices to the active claim, or
``None`` when no open leaf is left. Bedrock closes a claim by appending a
marker child ``(bedrock declared at: <claim>)`` that carries the category.

Nodes are frozen and every move copies only the path from the root to the
node it changes, so applying an answer is pure and costs O(depth), not
O(tree). Each node caches its subtree's leaf counts and height, which makes
"leftmost open leaf" a walk down one path and the judge's counts free; growing
a node updates those facts instead of recounting its children.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..errors import InputError

BEDROCK_CATEGORIES = ("stated-value", "constraint", "prior-decision",
                      "external-rule", "identity", "empirical")
MARKER_PREFIX = "(bedrock declared at: "
DEFAULT_TAG = "from-user"
# Deeper chains cannot be saved and read back by the json module within the
# default recursion limit (two JSON levels per tree level); no honest "why?"
# chain gets near it.
MAX_DEPTH = 300

Path_ = tuple[int, ...]


@dataclass(frozen=True)
class Node:
    claim: str
    tag: str | None = DEFAULT_TAG  # None: the recorded node had no tag key
    bedrock: str | None = None
    children: tuple["Node", ...] = ()
    extra: tuple[tuple[str, object], ...] = ()  # unknown keys, kept for round trips
    leaves: int = field(init=False, repr=False, compare=False)
    closed: int = field(init=False, repr=False, compare=False)
    height: int = field(init=False, repr=False, compare=False)
    first_open: int = field(init=False, repr=False, compare=False)  # child index, or -1

    def __post_init__(self):
        leaves = closed = height = 0
        first_open = -1
        for index, child in enumerate(self.children):
            leaves += child.leaves
            closed += child.closed
            height = max(height, child.height + 1)
            if first_open < 0 and child.leaves > child.closed:
                first_open = index
        if not self.children:
            leaves, closed = 1, int(self.bedrock is not None)
        _set_facts(self, leaves, closed, height, first_open)

    @property
    def open_leaves(self) -> int:
        return self.leaves - self.closed

    @property
    def rationale(self) -> str:
        return str(dict(self.extra).get("rationale") or "")

    def with_child(self, child: "Node") -> "Node":
        """This node with ``child`` appended; the cached facts are updated, not recounted."""
        if not self.children:
            return _derived(self, (child,), child.leaves, child.closed, child.height + 1,
                            0 if child.open_leaves else -1)
        first = self.first_open
        if first < 0 and child.open_leaves:
            first = len(self.children)
        return _derived(self, self.children + (child,), self.leaves + child.leaves,
                        self.closed + child.closed, max(self.height, child.height + 1), first)

    def with_child_at(self, index: int, child: "Node") -> "Node":
        """This node with child ``index`` replaced by a grown copy of it."""
        old = self.children[index]
        kids = self.children[:index] + (child,) + self.children[index + 1:]
        if child.height < old.height:  # not a grown copy: count everything again
            return Node(self.claim, self.tag, self.bedrock, kids, self.extra)
        first = self.first_open
        if child.open_leaves and (first < 0 or index < first):
            first = index
        elif not child.open_leaves and index == first:
            first = next((i for i in range(index + 1, len(kids)) if kids[i].open_leaves), -1)
        return _derived(self, kids, self.leaves - old.leaves + child.leaves,
                        self.closed - old.closed + child.closed,
                        max(self.height, child.height + 1), first)


def _set_facts(node: Node, leaves: int, closed: int, height: int, first_open: int) -> None:
    object.__setattr__(node, "leaves", leaves)
    object.__setattr__(node, "closed", closed)
    object.__setattr__(node, "height", height)
    object.__setattr__(node, "first_open", first_open)


def _derived(base: Node, children: tuple, leaves: int, closed: int, height: int,
             first_open: int) -> Node:
    """A copy of ``base`` with new children and known facts, without recounting: a
    node with thousands of children (a root with many causes) stays cheap to grow."""
    node = object.__new__(Node)
    for name, value in (("claim", base.claim), ("tag", base.tag), ("bedrock", base.bedrock),
                        ("children", children), ("extra", base.extra)):
        object.__setattr__(node, name, value)
    _set_facts(node, leaves, closed, height, first_open)
    return node


@dataclass(frozen=True)
class Tree:
    root: Node
    cursor: Path_ | None = ()

    @property
    def finished(self) -> bool:
        """No active claim: nothing is left to ask."""
        return self.cursor is None

    @property
    def done(self) -> bool:
        """The reference judge's ``done``: no cursor and every leaf closed."""
        return self.cursor is None and self.root.closed == self.root.leaves

    @property
    def active(self) -> Node | None:
        return None if self.cursor is None else node_at(self.root, self.cursor)

    def chain(self) -> list[str]:
        """Claims from the root to the active claim: all a questioner may see."""
        return [] if self.cursor is None else chain_at(self.root, self.cursor)

    def _repr_html_(self) -> str:
        from .render import render_html
        return render_html(self)

    def _repr_pretty_(self, printer, cycle) -> None:
        from .render import render_text
        printer.text(render_text(self))


def new_tree(claim: str, tag: str = DEFAULT_TAG) -> Tree:
    claim = (claim or "").strip()
    if not claim:
        raise InputError("the claim to drill is empty")
    return Tree(Node(claim, tag), ())


def root_claim(seed: str) -> str:
    """The first non-empty line of a seed that is not a markdown heading."""
    for line in seed.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    raise InputError("the seed has no claim: every line is empty or a heading")


def node_at(root: Node, path: Path_) -> Node:
    node = root
    for index in path:
        node = node.children[index]
    return node


def chain_at(root: Node, path: Path_) -> list[str]:
    node, claims = root, [root.claim]
    for index in path:
        node = node.children[index]
        claims.append(node.claim)
    return claims


def leftmost_open_leaf(root: Node) -> Path_ | None:
    """The first open leaf in pre-order: follow each node's first open child down."""
    if root.open_leaves == 0:
        return None
    node, path = root, []
    while node.children:
        path.append(node.first_open)
        node = node.children[node.first_open]
    return tuple(path)


def replace_at(root: Node, path: Path_, new: Node) -> Node:
    """A root in which the node at ``path`` is ``new``; only the path is copied."""
    ancestors = []
    node = root
    for index in path:
        ancestors.append((node, index))
        node = node.children[index]
    for parent, index in reversed(ancestors):
        new = parent.with_child_at(index, new)
    return new


def iter_nodes(root: Node) -> Iterator[tuple[Node, int, Path_]]:
    """(node, depth, path) in pre-order, without recursion."""
    stack = [(root, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        yield node, depth, path
        for index in range(len(node.children) - 1, -1, -1):
            stack.append((node.children[index], depth + 1, path + (index,)))


def bedrock_marker(active: Node, category: str, tag: str | None, rationale: str = "") -> Node:
    extra = (("rationale", rationale),) if rationale else ()
    return Node(f"{MARKER_PREFIX}{active.claim})", tag, category, (), extra)
