"""Stage-2 gradient-boosted trees: exported from scikit-learn into plain arrays
and scored with numpy (rhetoric/trees.py), saved in model.npz (format v3)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from rhetoric.model import FORMAT, FORMAT_TREES, Model, ModelError
from rhetoric.train import TrainingConfig, document_inputs, fit_model
from rhetoric.trees import Forest

from conftest import TOY_DEVICES, toy_docs


def _fixture(seed: int = 0, n: int = 600, width: int = 12, missing: float = 0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, width))
    y = (X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * rng.normal(size=n) > 0.3).astype(int)
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
    return X, y


@pytest.mark.parametrize("settings", [{"max_depth": 3, "max_iter": 40}, {"max_leaf_nodes": 15, "max_iter": 30},
                                      {"max_depth": 1, "max_iter": 5, "learning_rate": 0.5}])
@pytest.mark.parametrize("missing", [0.0, 0.05])
def test_forest_equals_sklearn_predict_proba(settings, missing):
    X, y = _fixture(missing=missing)
    clf = HistGradientBoostingClassifier(early_stopping=False, random_state=0, **settings).fit(X, y)
    forest = Forest.from_sklearn(clf)
    X_test, _ = _fixture(seed=1, n=400, missing=2 * missing)
    ours = 1 / (1 + np.exp(-forest.decision_function(X_test)))
    np.testing.assert_allclose(ours, clf.predict_proba(X_test)[:, 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(forest.decision_function(X_test), clf.decision_function(X_test), rtol=0, atol=1e-9)


def test_forest_feature_map_and_empty_batch():
    X, y = _fixture()
    clf = HistGradientBoostingClassifier(max_depth=3, max_iter=20, early_stopping=False).fit(X, y)
    forest = Forest.from_sklearn(clf)
    wide = np.hstack([np.zeros((len(X), 3)), X])  # the forest's columns start at 3
    np.testing.assert_allclose(forest.decision_function(wide, np.arange(3, 3 + X.shape[1])),
                               clf.decision_function(X), atol=1e-9)
    assert forest.decision_function(np.zeros((0, X.shape[1]))).shape == (0,)


def test_forest_arrays_round_trip_and_malformed_refused():
    X, y = _fixture()
    forest = Forest.from_sklearn(HistGradientBoostingClassifier(max_iter=10, early_stopping=False).fit(X, y))
    again = Forest.from_arrays(forest.arrays())
    np.testing.assert_array_equal(again.decision_function(X), forest.decision_function(X))
    arrays = forest.arrays()
    cycle = dict(arrays, left=arrays["left"].copy())
    inner = int(np.flatnonzero(cycle["left"] != np.arange(len(cycle["left"])))[0])
    cycle["left"][inner] = inner  # an inner node that is its own child, but a finite threshold
    with pytest.raises(ValueError):
        Forest.from_arrays(cycle)
    with pytest.raises(ValueError):
        Forest.from_arrays(dict(arrays, roots=np.array([len(arrays["left"])])))


@pytest.fixture(scope="module")
def plain_model(rules):
    """Stage 2 without trees (stage2_trees=()), as every model before them."""
    return fit_model(toy_docs(), rules, TrainingConfig(folds=3, stage2_trees=()), devices=TOY_DEVICES)


@pytest.fixture(scope="module")
def tree_model(rules):
    config = TrainingConfig(folds=3, stage2_trees=("any", "loaded_language"), stage2_trees_iter=10)
    return fit_model(toy_docs(), rules, config, devices=TOY_DEVICES)


def test_default_config_gives_any_its_trees(toy_model_stage2):
    assert TrainingConfig().stage2_trees == ("any",)
    assert sorted(toy_model_stage2.stage2.forests) == [len(TOY_DEVICES)]


def test_fit_model_adds_trees_to_the_named_columns(tree_model):
    assert tree_model.stage2 is not None
    assert sorted(tree_model.stage2.forests) == [0, len(TOY_DEVICES)]  # loaded_language, any
    assert tree_model.stage2.tree_width > 0


def test_unknown_tree_column_is_refused(rules):
    with pytest.raises(ValueError, match="stage2_trees"):
        fit_model(toy_docs(), rules, TrainingConfig(folds=3, stage2_trees=("nonsense",)), devices=TOY_DEVICES)


def test_model_with_trees_round_trip_v3_and_without_stays_v2(tree_model, plain_model, rules, tmp_path):
    docs = document_inputs(toy_docs(2), rules)
    X = tree_model.features.transform(docs)
    p = tree_model.predict_proba(X, docs)
    folder = tree_model.save(tmp_path / "trees")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == FORMAT_TREES
    assert manifest["stage2_trees"]["columns"] == ["loaded_language", "any"]
    loaded = Model.load(folder)
    np.testing.assert_array_equal(loaded.predict_proba(loaded.features.transform(docs), docs), p)
    assert not plain_model.stage2.forests
    plain = plain_model.save(tmp_path / "plain")
    assert json.loads((plain / "manifest.json").read_text())["format"] == FORMAT
    assert "stage2_trees" not in json.loads((plain / "manifest.json").read_text())


def test_trees_blend_with_the_regression(tree_model, rules):
    docs = document_inputs(toy_docs(1), rules)
    X = tree_model.features.transform(docs)
    stage2 = tree_model.stage2
    with_trees = tree_model.predict_proba(X, docs)
    forests, stage2.forests = stage2.forests, {}
    try:
        linear = tree_model.predict_proba(X, docs)
    finally:
        stage2.forests = forests
    untouched = [j for j in range(linear.shape[1]) if j not in forests]
    np.testing.assert_array_equal(with_trees[:, untouched], linear[:, untouched])
    assert not np.allclose(with_trees[:, sorted(forests)], linear[:, sorted(forests)])


def test_v3_format_without_trees_is_refused(plain_model, tmp_path):
    from test_model import _resign

    folder = plain_model.save(tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format"] = FORMAT_TREES
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _resign(folder)
    with pytest.raises(ModelError, match="trees"):
        Model.load(folder)


def test_tagging_with_trees_does_not_import_sklearn(tree_model, tmp_path):
    folder = tree_model.save(tmp_path / "m")
    code = ("import sys\n"
            "from rhetoric.model import Model\nfrom rhetoric.rules import RuleSet\nfrom rhetoric.tagger import Tagger\n"
            f"m = Model.load({str(folder)!r})\n"
            "Tagger(m, RuleSet.load()).tag('They lie. The vile elites lie again.')\n"
            "assert m.stage2.forests\n"
            "print(sorted(k for k in sys.modules if k.split('.')[0] == 'sklearn'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
