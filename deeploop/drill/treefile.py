"""``tree.json`` in and out, in the reference's legacy format.

Reading validates the whole shape and names the first thing that is wrong
(``root.children[1]: 'claim' is missing``); unknown keys are kept, so a
recorded tree loads and saves without losing anything. Writing is atomic
(fileio) with the key order the reference used: claim, tag, bedrock, any
extra keys, children.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from ..fileio import atomic_write_text, read_text
from .tree import Node, Tree, leftmost_open_leaf, node_at

TREE_FILE = "tree.json"
_KNOWN = ("claim", "tag", "bedrock", "children")


def tree_to_json(tree: Tree) -> dict:
    return {"root": _node_json(tree.root),
            "cursor": None if tree.cursor is None else list(tree.cursor)}


def _node_json(node: Node) -> dict:
    data = {"claim": node.claim}
    if node.tag is not None:
        data["tag"] = node.tag
    data["bedrock"] = node.bedrock
    data.update(node.extra)
    data["children"] = [_node_json(child) for child in node.children]
    return data


def dumps_tree(tree: Tree) -> str:
    return json.dumps(tree_to_json(tree), indent=2, ensure_ascii=False) + "\n"


def save_tree(tree: Tree, path: Path | str) -> None:
    atomic_write_text(path, dumps_tree(tree))


def tree_from_json(data, source: str = TREE_FILE) -> Tree:
    """Validate and build a Tree; InputError names ``source`` and the bad spot."""
    if not isinstance(data, dict) or not isinstance(data.get("root"), dict):
        raise InputError(f"{source}: expected an object with a 'root' node")
    root = _build(data["root"], "root", source)
    if "cursor" not in data:
        return Tree(root, leftmost_open_leaf(root))
    return Tree(root, _cursor(data["cursor"], root, source))


def _build(data: dict, where: str, source: str) -> Node:
    """Bottom-up construction without recursion (frozen nodes need their children)."""
    _check_node(data, where, source)
    stack = [(data, where, 0, [])]
    while True:
        item, here, next_child, built = stack[-1]
        kids = item.get("children", [])
        if next_child < len(kids):
            stack[-1] = (item, here, next_child + 1, built)
            child_where = f"{here}.children[{next_child}]"
            _check_node(kids[next_child], child_where, source)
            stack.append((kids[next_child], child_where, 0, []))
            continue
        node = Node(item["claim"], item.get("tag"), item.get("bedrock"), tuple(built),
                    tuple((k, v) for k, v in item.items() if k not in _KNOWN))
        stack.pop()
        if not stack:
            return node
        stack[-1][3].append(node)


def _check_node(item, where: str, source: str) -> None:
    if not isinstance(item, dict):
        raise InputError(f"{source}: {where} is not an object")
    if not isinstance(item.get("claim"), str):
        raise InputError(f"{source}: {where}: 'claim' is missing or not text")
    if "tag" in item and not isinstance(item["tag"], str):
        raise InputError(f"{source}: {where}: 'tag' is not text")
    bedrock = item.get("bedrock")
    if bedrock is not None and (not isinstance(bedrock, str) or not bedrock.strip()):
        raise InputError(f"{source}: {where}: 'bedrock' must be null or a category")
    if not isinstance(item.get("children", []), list):
        raise InputError(f"{source}: {where}: 'children' is not a list")


def _cursor(value, root: Node, source: str):
    if value is None:
        return None
    if not isinstance(value, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in value):
        raise InputError(f"{source}: 'cursor' must be null or a list of child indices")
    try:
        node_at(root, tuple(value))
    except IndexError:
        raise InputError(f"{source}: 'cursor' {value} points at no node") from None
    return tuple(value)


def loads_tree(text: str, source: str = TREE_FILE) -> Tree:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise InputError(f"{source}: nested too deeply to read") from None
    return tree_from_json(data, source)


def load_tree(path: Path | str) -> Tree:
    path = Path(path)
    return loads_tree(read_text(path, "tree file"), str(path))
