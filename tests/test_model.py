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


# -- integrity: edited manifests, pickles, models built for another library --------

def _resign(folder):
    """Recompute both digests, as someone who edits a model on purpose would:
    the checks that remain must still refuse what is wrong."""
    from rhetoric.model import MANIFEST_DIGEST_KEY, _sha256, manifest_digest

    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["sha256"][ARRAYS_FILE] = _sha256(folder / ARRAYS_FILE)
    manifest[MANIFEST_DIGEST_KEY] = manifest_digest(manifest)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def test_manifest_records_its_own_digest(saved):
    from rhetoric.model import MANIFEST_DIGEST_KEY, manifest_digest

    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    assert manifest[MANIFEST_DIGEST_KEY] == manifest_digest(manifest) and len(manifest[MANIFEST_DIGEST_KEY]) == 64
    assert MANIFEST_DIGEST_KEY not in Model.load(saved).info


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(rules_fingerprint="forced"), "SHA-256 does not match"),
        (lambda m: m.update(thresholds_note="x"), "SHA-256 does not match"),
        (lambda m: m["devices"].reverse(), "SHA-256 does not match"),
        (lambda m: m.pop("manifest_sha256"), "records no 'manifest_sha256'"),
    ],
    ids=["fingerprint forced", "key added", "devices reordered", "digest removed"],
)
def test_edited_manifest_is_refused(saved, edit, message):
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    edit(manifest)
    (saved / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=message):
        Model.load(saved)


@pytest.mark.parametrize("content", [b"", b"[1, 2]", b'{"format": "rhetoric-linear-v1", "devi'],
                         ids=["empty", "a list", "truncated"])
def test_damaged_manifest_is_refused(saved, content):
    (saved / MANIFEST_FILE).write_bytes(content)
    with pytest.raises(ModelError, match="not a valid manifest"):
        Model.load(saved)


class _RunsCodeWhenUnpickled:
    """Unpickling this makes the directory `marker`: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.mkdir, (self.marker,)


def _object_array_npz(folder, marker):
    with np.load(folder / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["coef"] = np.array([_RunsCodeWhenUnpickled(marker)], dtype=object)
    np.savez(folder / ARRAYS_FILE, **arrays)


def _pickle_as_npz(folder, marker):
    import pickle

    (folder / ARRAYS_FILE).write_bytes(pickle.dumps(_RunsCodeWhenUnpickled(marker)))


def _npy_as_npz(folder, marker):
    with open(folder / ARRAYS_FILE, "wb") as handle:
        np.save(handle, np.zeros(3))


def _pickle_beside(folder, marker):
    import pickle

    (folder / "estimator.pkl").write_bytes(pickle.dumps(_RunsCodeWhenUnpickled(marker)))


@pytest.mark.parametrize(
    ("plant", "message"),
    [
        (_object_array_npz, "holds pickled .* never loads"),
        (_pickle_as_npz, "holds pickled .* never loads"),
        (_npy_as_npz, "not an .npz archive"),
        (_pickle_beside, "estimator.pkl: rhetoric never loads pickles"),
    ],
    ids=["object array in model.npz", "pickle as model.npz", "one .npy as model.npz", "extra .pkl"],
)
def test_pickles_in_a_model_folder_are_refused_unread(saved, tmp_path, plant, message):
    marker = tmp_path / "code-ran"
    plant(saved, marker)
    _resign(saved)  # even with digests that match, nothing is unpickled
    with pytest.raises(ModelError, match=message):
        Model.load(saved)
    with pytest.raises(ModelError):
        Tagger.load(saved)
    assert not marker.exists()


def test_arrays_that_do_not_fit_the_manifest_are_refused(saved):
    with np.load(saved / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "thresholds"}
    np.savez_compressed(saved / ARRAYS_FILE, **arrays)
    _resign(saved)
    with pytest.raises(ModelError, match="do not fit together.*thresholds.*rhetoric train"):
        Model.load(saved)


@pytest.mark.parametrize("key", ["library_version", "rules_fingerprint", "splitter_fingerprint"])
def test_model_built_for_another_library_is_refused_with_how_to_retrain(toy_model_dir, tmp_path, key):
    assert Tagger.load(toy_model_dir).model is not None
    model = Model.load(toy_model_dir)
    model.info = {**model.info, key: "built-elsewhere"}
    other = model.save(tmp_path / "other")
    with pytest.raises(ModelError, match=rf"{key}='built-elsewhere', but this library has .*"
                                         r"retrain it with `rhetoric train --ptc PTC_DIR --out DIR`"):
        Tagger.load(other)
    assert Tagger.load(other, rules_only=True).model is None  # the way to go on meanwhile
