"""Gradient-boosted trees as plain arrays, scored with numpy.

A scikit-learn HistGradientBoostingClassifier (binary) is exported once, at
training time, into flat node arrays (`Forest.from_sklearn`); the tagger
scores with `Forest.decision_function`, which walks every tree for every row
at once, one tree level per step, and never imports scikit-learn. The result
equals the classifier's `decision_function` (and, through the logistic,
`predict_proba`) to rounding (tests/test_trees.py).

Layout: the nodes of all trees in one array, siblings side by side (a node's
right child is its left child + 1), so a step is `node = left[node] + (x >
threshold[node])`. A leaf points to itself with an infinite threshold, so a
row that reached its leaf early stays there while deeper trees finish.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Keys of a Forest's arrays, after a prefix (model.py saves them as
# "stage2.trees.<column>.<key>").
# Rows scored at a time by Forest.decision_function (256: the fastest of 256 /
# 512 / 1,024 / 2,048 / all, measured on the stage-2 matrix of 8,000 PTC sentences).
ROW_BLOCK = 256
ARRAY_KEYS = ("feature", "threshold", "missing_left", "left", "value", "roots", "baseline")


@dataclass
class Forest:
    """The trees of one binary classifier: per node the feature tested, the
    threshold (x <= threshold goes left), where a missing value goes, the left
    child (the right one is next to it; a leaf is its own child) and the leaf
    value (0 inside); the root of each tree; the baseline score."""

    feature: np.ndarray       # (n_nodes,) int64
    threshold: np.ndarray     # (n_nodes,) float64, +inf at leaves
    missing_left: np.ndarray  # (n_nodes,) bool
    left: np.ndarray          # (n_nodes,) int64
    value: np.ndarray         # (n_nodes,) float64
    roots: np.ndarray         # (n_trees,) int64
    baseline: float

    def __post_init__(self) -> None:
        self.feature = np.asarray(self.feature, dtype=np.int64)
        self.threshold = np.asarray(self.threshold, dtype=np.float64)
        self.missing_left = np.asarray(self.missing_left, dtype=bool)
        self.left = np.asarray(self.left, dtype=np.int64)
        self.value = np.asarray(self.value, dtype=np.float64)
        self.roots = np.asarray(self.roots, dtype=np.int64)
        self.baseline = float(self.baseline)
        self._check()
        self.depth = self._depth()

    def _check(self) -> None:
        n = len(self.feature)
        if not (len(self.threshold) == len(self.missing_left) == len(self.left) == len(self.value) == n):
            raise ValueError("forest arrays of different lengths")
        leaf = self.left == np.arange(n)
        inner = ~leaf
        if n and (self.left.min() < 0 or (self.left[inner] + 1).max(initial=0) >= n):
            raise ValueError("forest child index out of range")
        if len(self.roots) and (self.roots.min() < 0 or self.roots.max() >= n):
            raise ValueError("forest root index out of range")
        if not np.isposinf(self.threshold[leaf]).all():
            raise ValueError("forest leaf without an infinite threshold")

    def _depth(self) -> int:
        """The number of steps from the roots to the deepest leaf (a malformed
        forest with a cycle through inner nodes is refused)."""
        n = len(self.left)
        node, steps = self.roots.copy(), 0
        inner = self.left != np.arange(n)
        while len(node):
            node = node[inner[node]]
            if not len(node):
                break
            node = np.concatenate([self.left[node], self.left[node] + 1])
            steps += 1
            if steps > n:
                raise ValueError("forest with a cycle")
        return steps

    def decision_function(self, Z: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """The raw score (log-odds) of each row of Z. `features` maps the
        forest's feature indices to columns of Z (None: the same)."""
        Z = np.ascontiguousarray(Z, dtype=np.float64)
        n = Z.shape[0]
        feature = self.feature if features is None else np.asarray(features, dtype=np.int64)[self.feature]
        if not n or not len(self.roots):
            return np.full(n, self.baseline)
        missing = bool(np.isnan(Z).any())
        # In blocks of ROW_BLOCK rows: the (rows x trees) node arrays then stay
        # in cache (1.3 us a row against 2.1 us for 8,000 rows at once, 100
        # trees of depth 3 on the 214-column stage-2 matrix).
        return np.concatenate([self._walk(Z[i:i + ROW_BLOCK], feature, missing) for i in range(0, n, ROW_BLOCK)])

    def _walk(self, Z: np.ndarray, feature: np.ndarray, missing: bool) -> np.ndarray:
        n, width = Z.shape
        flat = Z.ravel()
        offsets = (np.arange(n, dtype=np.int64) * width)[:, None]
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        for _ in range(self.depth):
            x = flat[offsets + feature[node]]
            right = x > self.threshold[node]
            if missing:  # NaN compares False: send it where the node says
                right |= np.isnan(x) & ~self.missing_left[node]
            node = self.left[node] + right
        scores: np.ndarray = self.value[node].sum(axis=1) + self.baseline
        return scores

    def arrays(self) -> dict[str, np.ndarray]:
        return {"feature": self.feature, "threshold": self.threshold, "missing_left": self.missing_left,
                "left": self.left, "value": self.value, "roots": self.roots,
                "baseline": np.asarray([self.baseline])}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Forest:
        return cls(arrays["feature"], arrays["threshold"], arrays["missing_left"], arrays["left"],
                   arrays["value"], arrays["roots"], float(arrays["baseline"][0]))

    @classmethod
    def from_sklearn(cls, clf: Any) -> Forest:
        """Export a fitted binary HistGradientBoostingClassifier (numeric
        features only). Reads its private predictor arrays; checked against
        its own decision_function by tests/test_trees.py."""
        if getattr(clf, "n_trees_per_iteration_", 1) != 1:
            raise ValueError("only a binary classifier can be exported")
        if getattr(clf, "is_categorical_", None) is not None and np.any(clf.is_categorical_):
            raise ValueError("categorical features cannot be exported")
        feature: list[int] = []
        threshold: list[float] = []
        missing_left: list[bool] = []
        left: list[int] = []
        value: list[float] = []
        roots = []
        for (predictor,) in clf._predictors:
            nodes = predictor.nodes
            # breadth first, each inner node's two children appended together
            base = len(feature)
            roots.append(base)
            order = [0]
            slot = {0: base}
            i = 0
            while i < len(order):
                k = order[i]
                if not nodes["is_leaf"][k]:
                    for child in (int(nodes["left"][k]), int(nodes["right"][k])):
                        slot[child] = base + len(order)
                        order.append(child)
                i += 1
            for k in order:
                node = nodes[k]
                if node["is_leaf"]:
                    feature.append(0)
                    threshold.append(np.inf)
                    missing_left.append(True)
                    left.append(slot[k])
                    value.append(float(node["value"]))
                else:
                    feature.append(int(node["feature_idx"]))
                    threshold.append(float(node["num_threshold"]))
                    missing_left.append(bool(node["missing_go_to_left"]))
                    left.append(slot[int(node["left"])])
                    value.append(0.0)
        baseline = float(np.ravel(clf._baseline_prediction)[0])
        return cls(np.array(feature), np.array(threshold), np.array(missing_left), np.array(left),
                   np.array(value), np.array(roots), baseline)
