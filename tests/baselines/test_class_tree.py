import copy

import numpy as np
import pytest

from skcoop.baselines._class_tree import (
    _join_roots,
    _validate_tree,
    build_class_tree,
)

CLASSES = ["cat", "dog", "car", "bus"]


def _blocks_and_labels(n_per_class=5, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(CLASSES)), n_per_class)
    return [rng.randn(len(y), 3), rng.randn(len(y), 2)], y


@pytest.mark.parametrize(
    "hierarchy",
    [
        {"cat": "animal", "dog": "animal", "car": "vehicle", "bus": "vehicle"},
        {"animal": ["cat", "dog"], "vehicle": {"car": None, "bus": None}},
        None,
    ],
    ids=["flat-two-roots", "nested-two-roots", "from-centroids"],
)
def test_build_class_tree_leaves_its_arguments_unchanged(hierarchy):
    # issue #11: the tree code used to add the root to the maps it was given
    blocks, y = _blocks_and_labels()
    args = (hierarchy, blocks, y, list(CLASSES))
    frozen = copy.deepcopy(args)
    tree = build_class_tree(*args)
    assert repr(args) == repr(frozen)
    roots = [node for node, par in tree.parent.items() if par is None]
    assert len(roots) == 1


def test_validate_and_join_roots_return_new_maps():
    parent = {"cat": "animal", "dog": "animal", "car": None, "bus": None}
    frozen = dict(parent)
    new_parent, children = _validate_tree(parent, CLASSES)
    assert parent == frozen
    assert new_parent["animal"] is None  # a parent never listed became a root
    children_frozen = copy.deepcopy(children)
    joined, joined_children = _join_roots(new_parent, children)
    assert children == children_frozen
    assert "root" not in new_parent
    assert joined["root"] is None
    assert sorted(joined_children["root"]) == ["animal", "bus", "car"]


def test_node_weights_sum_to_one_along_every_path():
    blocks, y = _blocks_and_labels()
    tree = build_class_tree(None, blocks, y, list(CLASSES))
    # groups: one per class first, in class order
    for k in range(len(CLASSES)):
        np.testing.assert_array_equal(tree.groups[k], [k])
        on_path = [v for v, g in enumerate(tree.groups) if k in g]
        assert tree.node_weights[on_path].sum() == pytest.approx(1.0)
    root_group = max(tree.groups, key=len)
    np.testing.assert_array_equal(root_group, np.arange(len(CLASSES)))
