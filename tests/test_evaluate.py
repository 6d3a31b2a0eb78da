import numpy as np
import pytest

from rhetoric.devices import DEVICE_IDS
from rhetoric.evaluate import count, evaluate_docs, format_report, report


def test_count_ignores_unknown_labels():
    s = count(np.array([1, 0, 1, -1, 0]), np.array([1, 1, 0, 1, 0]))
    assert (s.tp, s.fp, s.fn) == (1, 1, 1)
    assert s.precision == s.recall == s.f1 == 0.5


def test_report_micro_macro_any():
    gold = np.zeros((4, len(DEVICE_IDS)), dtype=np.int8)
    pred = np.zeros_like(gold)
    ll, doubt = DEVICE_IDS.index("loaded_language"), DEVICE_IDS.index("doubt")
    gold[0, ll] = gold[1, doubt] = gold[2, ll] = 1
    pred[0, ll] = pred[1, ll] = pred[3, doubt] = 1
    rep = report(gold, pred)
    assert rep["devices"]["loaded_language"]["f1"] == pytest.approx(0.5)
    assert rep["devices"]["doubt"]["f1"] == 0.0
    assert rep["micro_f1"] == pytest.approx(1 / 3, abs=1e-4)  # tp 1, fp 2, fn 2
    assert rep["macro_f1"] == pytest.approx(0.5 / 18, abs=1e-4)
    # any-technique: gold rows 0,1,2; predicted rows 0,1,3
    assert rep["any_technique"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert "micro-F1" in format_report(rep)


def test_evaluate_docs_runs_the_tagger(toy_tagger):
    from conftest import toy_docs

    rep = evaluate_docs(toy_tagger, toy_docs(2))
    assert rep["devices"]["loaded_language"]["recall"] > 0.5
    assert 0 <= rep["any_technique"]["f1"] <= 1


def test_report_any_technique_from_the_dedicated_decision_and_the_union():
    gold = np.zeros((4, len(DEVICE_IDS)), dtype=np.int8)
    pred = np.zeros_like(gold)
    ll = DEVICE_IDS.index("loaded_language")
    gold[0, ll] = gold[1, ll] = 1
    pred[0, ll] = pred[2, ll] = 1
    rep = report(gold, pred, any_pred=np.array([1, 1, 0, 0]))
    assert rep["any_technique_source"] == "dedicated" and rep["any_technique"]["f1"] == 1.0
    assert rep["any_technique_union"]["f1"] == pytest.approx(0.5)
    text = format_report(rep)
    assert "'any' column" in text and "union of devices" in text
    assert report(gold, pred)["any_technique_source"] == "union"


def test_evaluate_docs_scores_the_taggers_own_any_decision(toy_tagger):
    from conftest import toy_docs

    rep = evaluate_docs(toy_tagger, toy_docs(2))
    assert rep["any_technique_source"] == "dedicated"
    assert {"any_technique", "any_technique_union"} <= set(rep)
