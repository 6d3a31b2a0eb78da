import json

import numpy as np
import pytest

from rhetoric.model import ARRAYS_FILE, MANIFEST_FILE, Model, ModelError
from rhetoric.tagger import Tagger

TEXT = "They want to erase our glorious history. The shameful elites betrayed us!"


@pytest.fixture()
def saved(toy_model, tmp_path):
    toy_model.info = {"library_version": "0.1", "rules_fingerprint": "abc"}
    return toy_model.save(tmp_path / "m")


def test_round_trip_gives_identical_tags(toy_model, rules, saved):
    loaded = Model.load(saved)
    assert loaded.devices == toy_model.devices
    np.testing.assert_array_equal(loaded.thresholds, toy_model.thresholds)
    assert Tagger(loaded, rules).tag(TEXT) == Tagger(toy_model, rules).tag(TEXT)


def test_saved_arrays_need_no_pickle(saved):
    with np.load(saved / ARRAYS_FILE, allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_save_is_deterministic(toy_model, tmp_path):
    a, b = toy_model.save(tmp_path / "a"), toy_model.save(tmp_path / "b")
    assert (a / ARRAYS_FILE).read_bytes() == (b / ARRAYS_FILE).read_bytes()


def test_tampered_arrays_are_refused(saved):
    data = bytearray((saved / ARRAYS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (saved / ARRAYS_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        Model.load(saved)


def test_truncated_arrays_are_refused(saved):
    data = (saved / ARRAYS_FILE).read_bytes()
    (saved / ARRAYS_FILE).write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="damaged"):
        Model.load(saved)


def test_missing_and_garbled_files(saved, tmp_path):
    with pytest.raises(ModelError, match="missing"):
        Model.load(tmp_path / "nowhere")
    (saved / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="manifest"):
        Model.load(saved)


def test_mismatched_rule_set_says_how_to_retrain(saved):
    with pytest.raises(ModelError, match="rules_fingerprint.*rhetoric train"):
        Model.load(saved, expect={"rules_fingerprint": "something else"})
    assert Model.load(saved, expect={"rules_fingerprint": "abc"}).devices


def test_manifest_records_hash_and_devices(saved):
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    assert len(manifest["sha256"][ARRAYS_FILE]) == 64
    assert manifest["devices"] == ["loaded_language", "appeal_to_history", "us_vs_them", "doubt"]


def test_predict_proba_is_a_probability(toy_model, rules):
    from rhetoric.train import document_inputs

    from conftest import toy_docs

    docs = document_inputs(toy_docs(1), rules)
    X = toy_model.features.transform(docs)
    p = toy_model.predict_proba(X, docs)
    # four devices and 'any technique'
    assert p.shape == (X.shape[0], 5) and (p >= 0).all() and (p <= 1).all()


def test_stage2_model_round_trip_and_probabilities(toy_model_stage2, rules, tmp_path):
    from rhetoric.train import document_inputs

    from conftest import toy_docs

    assert toy_model_stage2.stage2 is not None
    docs = document_inputs(toy_docs(2), rules)
    X = toy_model_stage2.features.transform(docs)
    p = toy_model_stage2.predict_proba(X, docs)
    assert p.shape == (X.shape[0], 5) and (p >= 0).all() and (p <= 1).all()
    loaded = Model.load(toy_model_stage2.save(tmp_path / "s2"))
    np.testing.assert_array_equal(loaded.predict_proba(loaded.features.transform(docs), docs), p)
    assert Tagger(loaded, rules).tag(TEXT) == Tagger(toy_model_stage2, rules).tag(TEXT)
