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
_KNOWN = frozenset(("claim", "tag", "bedrock", "children"))
# json.dumps(s, ensure_ascii=False) builds a new encoder per call; this is its C core
_string = json.encoder.encode_basestring


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
    """Exactly ``json.dumps(tree_to_json(tree), indent=2, ensure_ascii=False)``.

    Written by hand because the json module falls back to its pure-Python
    encoder whenever ``indent`` is set, which is ten times slower on a
    10,000-node tree; only the scalars go through json.
    """
    out = ['{\n  "root": ']
    _emit(tree.root, 1, out)
    cursor = "null" if tree.cursor is None else json.dumps(list(tree.cursor), indent=2)
    out.append(',\n  "cursor": ' + cursor.replace("\n", "\n  ") + "\n}\n")
    return "".join(out)


def _emit(node: Node, level: int, out: list[str]) -> None:
    """One node object whose closing brace sits at ``level`` (two spaces each)."""
    pad = "  " * (level + 1)
    out.append("{\n" + pad + '"claim": ' + _string(node.claim) + ",\n")
    if node.tag is not None:
        out.append(pad + '"tag": ' + _string(node.tag) + ",\n")
    bedrock = "null" if node.bedrock is None else _string(node.bedrock)
    out.append(pad + '"bedrock": ' + bedrock + ",\n")
    for key, value in node.extra:
        text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + pad)
        out.append(pad + _string(key) + ": " + text + ",\n")
    if not node.children:
        out.append(pad + '"children": []\n' + "  " * level + "}")
        return
    out.append(pad + '"children": [\n')
    inner = "  " * (level + 2)
    last = len(node.children) - 1
    for index, child in enumerate(node.children):
        out.append(inner)
        _emit(child, level + 2, out)
        out.append(",\n" if index < last else "\n")
    out.append(pad + "]\n" + "  " * level + "}")


def save_tree(tree: Tree, path: Path | str) -> None:
    atomic_write_text(path, dumps_tree(tree))


def tree_from_json(data, source: str = TREE_FILE) -> Tree:
    """Validate and build a Tree; InputError names ``source`` and the bad spot."""
    if not isinstance(data, dict) or not isinstance(data.get("root"), dict):
        raise InputError(f"{source}: expected an object with a 'root' node")
    root = _build(data["root"], source)
    if "cursor" not in data:
        return Tree(root, leftmost_open_leaf(root))
    return Tree(root, _cursor(data["cursor"], root, source))


def _build(data: dict, source: str) -> Node:
    """Bottom-up construction without recursion (frozen nodes need their children).

    Each stack frame is [item, next child index, children built so far]; the
    frames spell the path to the item, so a location is written only on error.
    """
    stack = [[data, 0, []]]
    _check_node(data, stack, source)
    while True:
        frame = stack[-1]
        item, index, built = frame
        kids = item.get("children") or ()
        if index < len(kids):
            frame[1] = index + 1
            stack.append([kids[index], 0, []])
            _check_node(kids[index], stack, source)
            continue
        extra = (tuple((k, v) for k, v in item.items() if k not in _KNOWN)
                 if item.keys() - _KNOWN else ())
        node = Node(item["claim"], item.get("tag"), item.get("bedrock"), tuple(built), extra)
        stack.pop()
        if not stack:
            return node
        stack[-1][2].append(node)


def _where(stack: list) -> str:
    return "root" + "".join(f".children[{frame[1] - 1}]" for frame in stack[:-1])


def _check_node(item, stack: list, source: str) -> None:
    if not isinstance(item, dict):
        raise InputError(f"{source}: {_where(stack)} is not an object")
    if not isinstance(item.get("claim"), str):
        raise InputError(f"{source}: {_where(stack)}: 'claim' is missing or not text")
    if "tag" in item and not isinstance(item["tag"], str):
        raise InputError(f"{source}: {_where(stack)}: 'tag' is not text")
    bedrock = item.get("bedrock")
    if bedrock is not None and (not isinstance(bedrock, str) or not bedrock.strip()):
        raise InputError(f"{source}: {_where(stack)}: 'bedrock' must be null or a category")
    if not isinstance(item.get("children", []), list):
        raise InputError(f"{source}: {_where(stack)}: 'children' is not a list")


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
