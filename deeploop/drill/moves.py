"""Applying an action to a tree: pure, and the only way a drill tree changes.

- descend: the claim becomes a child of the active claim; the cursor follows;
- bedrock: a marker child closes the active claim; the cursor moves to the
  leftmost open leaf in pre-order, or ``None`` when none is left;
- branch: a sibling under the active claim's parent; the cursor moves to it;
  refused at the root, which has no parent;
- stop: the tree is unchanged (the drill ends the run).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from .answers import Action, Kind, RejectedAnswer
from .tree import MAX_DEPTH, Node, Tree, bedrock_marker, leftmost_open_leaf, node_at, replace_at


@dataclass(frozen=True)
class Applied:
    tree: Tree
    outcome: str                 # advanced | bedrock | branch | stop
    violations: tuple[str, ...]  # caused by this move (shallow-bedrock, bedrock-in-prose)


def apply_action(tree: Tree, action: Action) -> Applied:
    if tree.cursor is None:
        raise InputError("the drill is finished: no open leaves")
    if action.kind is Kind.STOP:
        return Applied(tree, "stop", ())
    if action.kind is Kind.BEDROCK:
        return _bedrock(tree, action)
    if action.kind is Kind.BRANCH:
        return _branch(tree, action)
    return _descend(tree, action)


def _descend(tree: Tree, action: Action) -> Applied:
    cursor = tree.cursor
    if len(cursor) >= MAX_DEPTH:
        raise RejectedAnswer(f"the chain is {MAX_DEPTH} claims deep: declare BEDROCK or BRANCH",
                             violation="too-deep")
    active = node_at(tree.root, cursor)
    grown = active.with_child(Node(action.claim, action.tag))
    root = replace_at(tree.root, cursor, grown)
    return Applied(Tree(root, cursor + (len(grown.children) - 1,)), "advanced", action.flags)


def _bedrock(tree: Tree, action: Action) -> Applied:
    cursor = tree.cursor
    active = node_at(tree.root, cursor)
    marker = bedrock_marker(active, action.category, action.tag, action.rationale)
    root = replace_at(tree.root, cursor, active.with_child(marker))
    # the marker sits one level below the claim it closes
    shallow = ("shallow-bedrock",) if len(cursor) + 1 < 2 else ()
    return Applied(Tree(root, leftmost_open_leaf(root)), "bedrock", shallow + action.flags)


def _branch(tree: Tree, action: Action) -> Applied:
    cursor = tree.cursor
    if not cursor:
        raise RejectedAnswer("cannot BRANCH at the root claim: it has no parent; "
                             "answer why it holds first", violation="branch-at-root")
    parent_path = cursor[:-1]
    parent = node_at(tree.root, parent_path).with_child(Node(action.claim, action.tag))
    root = replace_at(tree.root, parent_path, parent)
    return Applied(Tree(root, parent_path + (len(parent.children) - 1,)), "branch", action.flags)
