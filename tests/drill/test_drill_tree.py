"""Tree moves: the reference behaviour, purity, and the cursor rules."""
import pytest

from deeploop.drill import (BEDROCK_CATEGORIES, RejectedAnswer, apply_action, new_tree,
                            parse_answer, root_claim)
from deeploop.drill.tree import MAX_DEPTH, leftmost_open_leaf, node_at
from deeploop.drill.treefile import tree_to_json
from deeploop.errors import InputError
from .drill_helpers import pure_drill


def test_reference_chain_to_bedrock():
    cursors, scores, violations, tree = pure_drill(["a", "b", "c", "BEDROCK:stated-value"])
    assert cursors == [[0], [0, 0], [0, 0, 0], None]
    assert scores == [0, 0, 0, 1.0]
    assert violations == [[], [], [], []]
    assert tree.done


def test_reference_branch_then_two_bedrocks():
    cursors, scores, violations, _ = pure_drill(
        ["cause A", "BRANCH:cause B", "BEDROCK:constraint", "rethink", "BEDROCK:prior-decision"])
    assert cursors == [[0], [1], [0], [0, 0], None]
    assert scores == [0, 0, 0.5, 0.5, 1.0]
    assert violations == [[]] * 5


def test_bedrock_on_the_seed_is_done_but_shallow():
    cursors, scores, violations, tree = pure_drill(["BEDROCK:stated-value"])
    assert cursors == [None] and scores == [1.0]
    assert violations == [["shallow-bedrock"]]
    marker = tree.root.children[0]
    assert marker.claim == "(bedrock declared at: root claim)" and marker.bedrock == "stated-value"


def test_bedrock_appends_a_marker_child_like_the_reference():
    _, _, _, tree = pure_drill(["a", "b", "BEDROCK:empirical — measured on 2024-05-01"])
    b = node_at(tree.root, (0, 0))
    assert tree_to_json(tree)["root"]["children"][0]["children"][0]["children"] == [{
        "claim": "(bedrock declared at: b)", "tag": "from-user", "bedrock": "empirical",
        "rationale": "measured on 2024-05-01", "children": []}]
    assert b.bedrock is None  # the claim itself stays a claim; the marker closes it


def test_applying_is_pure():
    tree = new_tree("root")
    before = tree_to_json(tree)
    grown = apply_action(tree, parse_answer("a")).tree
    assert tree_to_json(tree) == before
    assert tree.cursor == () and grown.cursor == (0,)


def test_cursor_goes_to_leftmost_open_leaf_in_preorder():
    _, _, _, tree = pure_drill(["a", "b", "BRANCH:b2", "BRANCH:b3", "BEDROCK:constraint"])
    # a has children b, b2, b3; the cursor sat on b3; closing it returns to b, the leftmost
    assert tree.cursor == (0, 0)
    tree = apply_action(tree, parse_answer("BEDROCK:identity")).tree
    assert tree.cursor == (0, 1)
    assert node_at(tree.root, tree.cursor).claim == "b2"


def test_branch_at_root_is_rejected_and_tree_unchanged():
    tree = new_tree("root")
    with pytest.raises(RejectedAnswer) as err:
        apply_action(tree, parse_answer("BRANCH:other"))
    assert err.value.violation == "branch-at-root"
    assert "root" in str(err.value)
    assert tree_to_json(tree) == tree_to_json(new_tree("root"))


def test_stop_leaves_tree_unchanged():
    tree = apply_action(new_tree("root"), parse_answer("a")).tree
    applied = apply_action(tree, parse_answer("STOP"))
    assert applied.outcome == "stop" and applied.tree is tree


def test_answering_a_finished_tree_is_refused():
    _, _, _, tree = pure_drill(["a", "b", "BEDROCK:identity"])
    with pytest.raises(InputError, match="no open leaves"):
        apply_action(tree, parse_answer("more"))


def test_cached_counts_match_a_full_walk():
    _, _, _, tree = pure_drill(["a", "BRANCH:b", "x", "BEDROCK:constraint", "BRANCH:c",
                                "y", "BRANCH:z"])
    from deeploop.drill.tree import iter_nodes
    leaves = [n for n, _, _ in iter_nodes(tree.root) if not n.children]
    assert tree.root.leaves == len(leaves)
    assert tree.root.closed == sum(1 for n in leaves if n.bedrock is not None)
    assert tree.root.height == max(d for _, d, _ in iter_nodes(tree.root))
    assert leftmost_open_leaf(tree.root) == next(
        p for n, _, p in iter_nodes(tree.root) if n.bedrock is None and not n.children)


def test_too_deep_chain_is_rejected():
    tree = new_tree("root")
    for i in range(MAX_DEPTH):
        tree = apply_action(tree, parse_answer(f"c{i}")).tree
    with pytest.raises(RejectedAnswer, match="deep"):
        apply_action(tree, parse_answer("one more"))


@pytest.mark.parametrize("seed, claim", [
    ("# Starting claim\n\nWhy X?\n", "Why X?"),
    ("\n\n  Why Y?  \nsecond line", "Why Y?"),
    ("## heading\n### another\nclaim", "claim"),
])
def test_root_claim_is_first_non_heading_line(seed, claim):
    assert root_claim(seed) == claim


@pytest.mark.parametrize("seed", ["", "# only a heading\n\n", "   \n"])
def test_seed_without_claim_is_refused(seed):
    with pytest.raises(InputError, match="no claim"):
        root_claim(seed)


def test_six_categories():
    assert set(BEDROCK_CATEGORIES) == {"stated-value", "constraint", "prior-decision",
                                       "external-rule", "identity", "empirical"}


@pytest.mark.parametrize("seed", range(8))
def test_cached_facts_stay_exact_over_random_drills(seed):
    """Growing a node updates its facts; they must equal a full recount."""
    import random
    from deeploop.drill.tree import Node, iter_nodes
    rng = random.Random(seed)
    tree = new_tree("root")
    for step in range(150):
        if tree.finished:
            break
        roll = rng.random()
        text = ("BEDROCK:identity" if roll < 0.25 and tree.root.open_leaves > 1 else
                f"BRANCH:b{step}" if roll < 0.55 and tree.cursor else f"c{step}")
        tree = apply_action(tree, parse_answer(text)).tree
        for node, _, _ in iter_nodes(tree.root):
            fresh = Node(node.claim, node.tag, node.bedrock, node.children, node.extra)
            assert (node.leaves, node.closed, node.height, node.first_open) == \
                (fresh.leaves, fresh.closed, fresh.height, fresh.first_open)
        assert tree.cursor == () or tree.cursor is None or node_at(tree.root, tree.cursor)
