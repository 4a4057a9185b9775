"""The class tree of :class:`~skcoop.baselines.TRUMANNLike`.

A tree over the classes (given as a ``hierarchy`` or built from the class
centroids) defines the groups of the tree-guided group lasso and their node
weights (Kim & Xing, 2010). :func:`build_class_tree` is the one entry point;
it reads its arguments and never changes them.

Vocabulary: a *parent map* is a flat ``child -> parent`` dict (roots map to
``None``); *children* is the reverse ``node -> list of children`` dict.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import NamedTuple

import numpy as np
from scipy.cluster.hierarchy import linkage

__all__ = ["ClassTree", "build_class_tree"]

_SEQUENCES = (list, tuple, set, frozenset, np.ndarray)


class ClassTree(NamedTuple):
    """The class tree as the penalty uses it.

    Parameters
    ----------
    parent : dict
        Child -> parent map of every node (roots map to ``None``), including
        the inner nodes built from data and the root added above several
        top-level nodes.
    groups : list of ndarray of int
        Class indices under each node: one group per class first (in class
        order), then one per inner node from the root down.
    node_weights : ndarray of shape (n_groups,)
        Weight ``e_v`` of each group (Kim & Xing, 2010).
    """

    parent: dict
    groups: list[np.ndarray]
    node_weights: np.ndarray


def build_class_tree(
    hierarchy: Mapping | None,
    blocks: list[np.ndarray],
    y: np.ndarray,
    classes: list,
) -> ClassTree:
    """Return the class tree, its groups and node weights.

    Parameters
    ----------
    hierarchy : mapping or None
        The user's tree (flat ``child -> parent`` or nested ``node ->
        children``), or ``None`` to cluster the class centroids.
    blocks : list of ndarray of shape (n_samples, n_features_m)
        The standardised modalities (read only when ``hierarchy`` is None).
    y : ndarray of shape (n_samples,)
        Class indices into ``classes``.
    classes : list
        The class labels, in the order of the class indices.

    Returns
    -------
    tree : ClassTree
        The validated tree with one root, the groups and the node weights.

    Raises
    ------
    ValueError
        For an invalid ``hierarchy``, naming the class or node.
    TypeError
        For an unhashable node in ``hierarchy``.
    """
    if hierarchy is None:
        parent = _tree_from_centroids(blocks, y, classes)
    else:
        parent = _parent_map(hierarchy)
    parent, children = _validate_tree(parent, classes)
    parent, children = _join_roots(parent, children)
    groups, weights = _groups_and_weights(parent, children, classes)
    return ClassTree(parent=parent, groups=groups, node_weights=weights)


def _unique_name(base: str, taken: set) -> str:
    """Return ``base`` (or ``base`` with underscores) that is not in ``taken``."""
    name = base
    while name in taken:
        name = "_" + name
    return name


def _add_edge(node, parent, out: dict) -> None:
    """Record ``node -> parent`` in ``out``, refusing a second parent."""
    if not isinstance(node, Hashable):
        raise TypeError(
            f"`hierarchy` nodes must be hashable class labels or node names; "
            f"got {node!r} of type {type(node).__name__}."
        )
    if node in out and out[node] != parent:
        raise ValueError(
            f"Node {node!r} appears twice in `hierarchy`, under {out[node]!r} "
            f"and under {parent!r}; a tree gives every node one parent."
        )
    out[node] = parent


def _flatten_nested(tree: Mapping, parent, out: dict) -> None:
    """Add the edges of a nested hierarchy (node -> children) to ``out``."""
    for node, children in tree.items():
        _add_edge(node, parent, out)
        if children is None:
            continue
        if isinstance(children, Mapping):
            _flatten_nested(children, node, out)
        elif isinstance(children, _SEQUENCES):
            for leaf in children:
                _add_edge(leaf, node, out)
        else:
            raise ValueError(
                f"In a nested `hierarchy`, the children of {node!r} must be a "
                f"mapping, a list of classes or None; got {children!r}. Write "
                f"{{{node!r}: [{children!r}]}} for a single child."
            )


def _parent_map(hierarchy: Mapping) -> dict:
    """Return ``hierarchy`` as a new flat child -> parent dict."""
    nested = any(isinstance(v, (Mapping, *_SEQUENCES)) for v in hierarchy.values())
    parent: dict = {}
    if nested:
        _flatten_nested(hierarchy, None, parent)
    else:
        for node, par in hierarchy.items():
            _add_edge(node, par, parent)
    return parent


def _validate_tree(parent: Mapping, classes: list) -> tuple[dict, dict]:
    """Check a parent map against the classes.

    Returns a new parent map, in which a parent never listed as a child
    becomes a root, and the children map. Nodes that are neither a class
    seen in fit nor an ancestor of one (a class absent from these training
    data, as in a cross-validation fold without a rare class) are left out.
    """
    class_set = set(classes)
    missing = [c for c in classes if c not in parent]
    if missing:
        raise ValueError(
            f"`hierarchy` has no entry for class {missing[0]!r} (classes "
            f"without one: {missing[:10]}); every class seen in fit needs a "
            "parent node, or None for a top-level class."
        )
    # the classes seen in fit and their ancestors (a cycle is reported below)
    kept, stack = set(), list(classes)
    while stack:
        node = stack.pop()
        if node in kept or node is None:
            continue
        kept.add(node)
        stack.append(parent.get(node))
    parent = {node: par for node, par in parent.items() if node in kept}
    children: dict = {}
    for node, par in parent.items():
        if par is None:
            continue
        if par == node:
            raise ValueError(f"Node {node!r} is its own parent in `hierarchy`.")
        if par in class_set:
            raise ValueError(
                f"Class {par!r} is the parent of {node!r} in `hierarchy`, but "
                "classes must be leaves of the tree; name the inner node "
                "differently from every class."
            )
        children.setdefault(par, []).append(node)
    parent = dict(parent)
    for node in children:
        if node not in parent:
            parent[node] = None  # a parent never listed as a child is a root
    for start in parent:  # every chain of parents must end at a root
        seen, node = {start}, parent[start]
        while node is not None:
            if node in seen:
                raise ValueError(f"`hierarchy` has a cycle through node {node!r}.")
            seen.add(node)
            node = parent[node]
    return parent, children


def _join_roots(parent: Mapping, children: Mapping) -> tuple[dict, dict]:
    """Return new parent and children maps with one root above all top-level nodes."""
    parent, children = dict(parent), {k: list(v) for k, v in children.items()}
    roots = [node for node, par in parent.items() if par is None]
    if len(roots) > 1:
        root = _unique_name("root", set(parent))
        for r in roots:
            parent[r] = root
        children[root] = roots
        parent[root] = None
    return parent, children


def _tree_from_centroids(blocks: list[np.ndarray], y: np.ndarray, classes: list):
    """Build a parent map by average-linkage clustering of class centroids."""
    # Each standardised block is divided by sqrt(width) so that every modality
    # weighs the same in the distances between class centroids.
    Z = np.hstack([b / np.sqrt(b.shape[1]) for b in blocks])  # (n, D)
    n_classes = len(classes)
    counts = np.bincount(y, minlength=n_classes)  # (K,)
    centroids = np.zeros((n_classes, Z.shape[1]))  # (K, D)
    np.add.at(centroids, y, Z)
    centroids /= counts[:, None]
    link = linkage(centroids, method="average")  # (K - 1, 4)
    taken = set(classes)
    names = list(classes)
    for i in range(n_classes - 1):
        names.append(_unique_name(f"cluster{i}", taken))
    parent = {names[-1]: None}
    for i, (a, b) in enumerate(link[:, :2].astype(int)):
        parent[names[a]] = names[n_classes + i]
        parent[names[b]] = names[n_classes + i]
    return parent


def _groups_and_weights(parent: Mapping, children: Mapping, classes: list):
    """Return the node groups (class indices) and Kim & Xing node weights.

    ``parent`` must have a single root (see :func:`_join_roots`).
    """
    index = {c: k for k, c in enumerate(classes)}
    (root,) = [node for node, par in parent.items() if par is None]

    leaves: dict = {}
    height: dict = {}

    def visit(node):  # post-order: leaf sets and heights (leaves 0)
        kids = children.get(node, [])
        if not kids:
            leaves[node], height[node] = [index[node]], 0
            return
        for kid in kids:
            visit(kid)
        leaves[node] = sorted(k for kid in kids for k in leaves[kid])
        height[node] = 1 + max(height[kid] for kid in kids)

    visit(root)
    # Kim & Xing (2010): s_v = h_v / (h_root + 1), g_v = 1 - s_v; node weight
    # e_v = s_v * prod_{ancestors m} g_m, with s = 1 at a leaf, so that the
    # weights on the path from the root to every class sum to one.
    scale = height[root] + 1.0
    nodes, weights = [], []
    stack = [(root, 1.0)]
    while stack:
        node, carry = stack.pop()  # carry = product of g over the ancestors
        kids = children.get(node, [])
        s = height[node] / scale if kids else 1.0
        nodes.append(node)
        weights.append(s * carry)
        stack.extend((kid, carry * (1.0 - s)) for kid in reversed(kids))
    # leaves first in class order, then inner nodes from the root down
    order = sorted(
        range(len(nodes)),
        key=lambda i: (bool(children.get(nodes[i])), index.get(nodes[i], 0), i),
    )
    groups = [np.asarray(leaves[nodes[i]], dtype=np.intp) for i in order]
    return groups, np.asarray(weights)[order]
