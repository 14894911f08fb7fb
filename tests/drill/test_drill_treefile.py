"""tree.json: legacy trees (the project's own and the reference's recordings) load
unchanged; bad files are named."""
import json

import pytest

from .drill_helpers import LEGACY, OWN_DRILLS, legacy_drills, pure_drill, recordings
from deeploop.drill import dumps_tree, load_tree, new_tree, save_tree
from deeploop.drill.treefile import loads_tree, tree_to_json
from deeploop.errors import InputError


@pytest.mark.parametrize("run", legacy_drills())
def test_legacy_trees_load_and_save_without_losing_anything(run, tmp_path):
    original = json.loads((run / "tree.json").read_text(encoding="utf-8"))
    tree = load_tree(run / "tree.json")
    assert tree_to_json(tree) == original
    save_tree(tree, tmp_path / "tree.json")
    assert json.loads((tmp_path / "tree.json").read_text(encoding="utf-8")) == original


@pytest.mark.parametrize("run, cursor, counts", [
    (OWN_DRILLS / "legacy-branch", None, (2, 2, 4)),
    (OWN_DRILLS / "legacy-open", (1, 0), (2, 0, 2)),
    pytest.param(LEGACY / "smoke-branch", None, (2, 2, 3), marks=recordings)])
def test_legacy_cursor_and_counts(run, cursor, counts):
    tree = load_tree(run / "tree.json")
    assert tree.cursor == cursor and tree.done == (cursor is None)
    assert (tree.root.leaves, tree.root.closed, tree.root.height) == counts


def test_written_like_json_dumps_indent_2():
    _, _, _, tree = pure_drill(["a — é", "BRANCH:b", "BEDROCK:empirical — 2024 survey"])
    assert dumps_tree(tree) == json.dumps(tree_to_json(tree), indent=2, ensure_ascii=False) + "\n"
    assert loads_tree(dumps_tree(tree)) == tree


def test_unknown_keys_survive_a_round_trip():
    data = {"root": {"claim": "r", "tag": "from-user", "bedrock": None, "kind": "open",
                     "children": [{"claim": "c", "bedrock": None, "children": [], "note": [1]}]},
            "cursor": [0]}
    tree = loads_tree(json.dumps(data))
    assert tree_to_json(tree) == data  # the missing tag on the child stays missing


def test_missing_cursor_means_leftmost_open_leaf():
    data = {"root": {"claim": "r", "bedrock": None, "children": [
        {"claim": "a", "bedrock": None, "children": [
            {"claim": "(bedrock declared at: a)", "bedrock": "identity", "children": []}]},
        {"claim": "b", "bedrock": None, "children": []}]}}
    assert loads_tree(json.dumps(data)).cursor == (1,)


@pytest.mark.parametrize("text, problem", [
    ("{not json", "not valid JSON"),
    ("[]", "expected an object with a 'root' node"),
    ('{"root": {"tag": "x", "children": []}}', "root: 'claim' is missing"),
    ('{"root": {"claim": "r", "children": [{"claim": 3}]}}',
     "root.children[0]: 'claim' is missing or not text"),
    ('{"root": {"claim": "r", "children": {}}}', "root: 'children' is not a list"),
    ('{"root": {"claim": "r", "bedrock": "", "children": []}}', "'bedrock' must be null"),
    ('{"root": {"claim": "r", "children": []}, "cursor": [0]}', "'cursor' [0] points at no node"),
    ('{"root": {"claim": "r", "children": []}, "cursor": "top"}', "'cursor' must be null"),
    ('{"root": {"claim": "r", "children": [5]}}', "root.children[0] is not an object"),
])
def test_corrupt_tree_is_named(text, problem):
    with pytest.raises(InputError) as err:
        loads_tree(text, "runs/deeper/x/tree.json")
    assert str(err.value).startswith("runs/deeper/x/tree.json: ")
    assert problem in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="tree file not found"):
        load_tree(tmp_path / "tree.json")


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    save_tree(new_tree("r"), folder / "tree.json")
    save_tree(new_tree("s"), folder / "tree.json")
    assert [p.name for p in folder.iterdir()] == ["tree.json"]
    assert load_tree(folder / "tree.json").root.claim == "s"


@pytest.mark.parametrize("run", legacy_drills())
def test_hand_written_json_equals_json_dumps_on_legacy_trees(run):
    tree = load_tree(run / "tree.json")
    assert dumps_tree(tree) == json.dumps(tree_to_json(tree), indent=2, ensure_ascii=False) + "\n"


def test_hand_written_json_handles_extra_values_and_cursors():
    data = {"root": {"claim": "r \"q\" \\ \n é", "bedrock": None, "meta": {"a": [1, {"b": None}],
                                                                    "c": "ü"},
                     "children": [{"claim": "c", "tag": "t", "bedrock": "identity",
                                   "empty": {}, "list": [], "children": []}]},
            "cursor": None}
    for cursor in (None, [], [0]):
        data["cursor"] = cursor
        tree = loads_tree(json.dumps(data))
        assert dumps_tree(tree) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
