"""The span lexicon (rhetoric/span_lexicon.py) on tiny synthetic documents."""
import json

import numpy as np
import pytest
import scipy.sparse as sp

from rhetoric import span_lexicon
from rhetoric.corpus import Span
from rhetoric.devices import DEVICE_IDS
from rhetoric.features import DocumentInput, FeatureSpace, Shape, WordNgrams
from rhetoric.model import ARRAYS_FILE, MANIFEST_FILE, Model
from rhetoric.train import LabelledDoc, column_labels, grouped_folds

DEVICES = ["loaded_language", "doubt"]
LL = 0


def span_doc(k, sentences):
    """A document of (sentence, [(device, word in it)]) pairs, with gold spans
    over the named words and the sentence labels they imply."""
    text, bounds, spans = "", [], []
    labels = np.full((len(sentences), len(DEVICE_IDS)), -1, dtype=np.int8)
    labels[:, [DEVICE_IDS.index(d) for d in DEVICES]] = 0
    for i, (sentence, marked) in enumerate(sentences):
        start = len(text) + (1 if text else 0)
        text = f"{text} {sentence}" if text else sentence
        bounds.append((start, len(text)))
        for device, word in marked:
            at = start + sentence.index(word)
            spans.append(Span(device, at, at + len(word)))
            labels[i, DEVICE_IDS.index(device)] = 1
    return LabelledDoc(f"d{k}", text, bounds, labels, tuple(spans))


def corpus(n_docs=6, budget_in=()):
    # "shameful" always sits inside a loaded_language span; "committee" shares
    # the span's sentence but never the span itself; "budget" is labelled only
    # in the documents numbered in `budget_in`.
    return [span_doc(k, [("The shameful committee lied again.", [("loaded_language", "shameful")]),
                         ("The committee discussed the budget.",
                          [("loaded_language", "budget")] if k in budget_in else []),
                         ("Is this really true?", [("doubt", "really true")])])
            for k in range(n_docs)]


def fitted_space(docs):
    inputs = [DocumentInput(d.text, d.sentences, [[] for _ in d.sentences]) for d in docs]
    space = FeatureSpace([WordNgrams(min_df=1), Shape()]).fit(inputs)
    return space, space.transform(inputs)


def test_term_inside_spans_gets_positive_lift_others_none():
    docs = corpus()
    space, _ = fitted_space(docs)
    labels = column_labels(docs, DEVICES)
    lift = span_lexicon.mine(span_lexicon.occurrences(docs, labels, DEVICES, space), labels)
    vocabulary, _ = span_lexicon.word_vocabulary(space)
    assert lift.shape == (len(vocabulary), len(DEVICES) + 1)
    assert lift[vocabulary["shameful"], LL] > 1.0
    assert lift[vocabulary["shameful"], -1] > 0.5  # inside a span of some technique: 'any'
    for term in ("committee", "budget", "the"):
        assert lift[vocabulary[term], LL] == pytest.approx(0.0, abs=1e-9)
    assert lift[vocabulary["really true"], DEVICES.index("doubt")] > 1.0


def test_without_spans_the_sentence_is_the_span():
    docs = [LabelledDoc(d.id, d.text, d.sentences, d.labels) for d in corpus()]  # spans=None
    space, _ = fitted_space(docs)
    labels = column_labels(docs, DEVICES)
    lift = span_lexicon.mine(span_lexicon.occurrences(docs, labels, DEVICES, space), labels)
    vocabulary, _ = span_lexicon.word_vocabulary(space)
    # now the whole first sentence counts: "committee" is half in, half out
    assert lift[vocabulary["shameful"], LL] > lift[vocabulary["committee"], LL] > 0.0
    assert lift[vocabulary["budget"], LL] == pytest.approx(0.0, abs=1e-9)


def test_out_of_fold_cues_never_see_the_fold_rows():
    docs = corpus(6)
    space, X = fitted_space(docs)
    groups = np.concatenate([[d.id] * len(d.sentences) for d in docs])
    folds = grouped_folds(groups, 3)
    word_X = X[:, space.word_block()[1]]

    def cues(documents):
        lab = column_labels(documents, DEVICES)
        occ = span_lexicon.occurrences(documents, lab, DEVICES, space)
        return np.hstack(span_lexicon.out_of_fold(occ, lab, word_X, folds))

    before = cues(docs)
    _, test_rows = folds[0]
    fold_docs = set(groups[test_rows])
    # the fold's own documents get other gold spans: their own cues must not move
    after = cues(corpus(6, budget_in={int(d[1:]) for d in fold_docs}))
    np.testing.assert_array_equal(after[test_rows], before[test_rows])
    other = np.setdiff1d(np.arange(len(groups)), test_rows)
    assert not np.array_equal(after[other], before[other])  # the change is seen by the other folds


def test_cues_are_max_and_log_sum_of_the_terms_lifts():
    lift = np.array([[1.0, 0.0], [0.5, 2.0], [0.0, 0.0]], dtype=np.float32)
    X = sp.csr_matrix(np.array([[0.3, 0.7, 0.0], [0.0, 0.0, 0.0], [0.0, 0.2, 0.9]]))
    cue_max, cue_sum = span_lexicon.lexicon_cues(X, lift)
    np.testing.assert_allclose(cue_max, [[1.0, 2.0], [0.0, 0.0], [0.5, 2.0]])
    np.testing.assert_allclose(cue_sum, np.log1p([[1.5, 2.0], [0.0, 0.0], [0.5, 2.0]]))


def test_cues_go_to_own_column_and_any():
    from rhetoric.context import Design

    designs = Design(np.zeros((2, 3)), [np.arange(3)] * 3)  # two devices and 'any', three shared cues
    cue_max = np.array([[1.0, 2.0, 3.0]] * 2)
    out = span_lexicon.append_cues(designs, cue_max, cue_max * 10)
    np.testing.assert_array_equal(out[0][0, 3:], [1.0, 3.0, 10.0, 30.0])
    np.testing.assert_array_equal(out[1][0, 3:], [2.0, 3.0, 20.0, 30.0])
    np.testing.assert_array_equal(out[2][0, 3:], [3.0, 30.0])


def test_model_with_lexicon_round_trips_with_identical_probabilities(toy_model_stage2, rules, tmp_path):
    from rhetoric.train import document_inputs

    from conftest import toy_docs

    model = toy_model_stage2
    assert model.lexicon is not None and model.lexicon.lift.any()
    folder = model.save(tmp_path / "m")
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    assert manifest["span_lexicon"]["array"] == "span_lexicon.lift"
    assert manifest["span_lexicon"]["shape"] == list(model.lexicon.lift.shape)
    with np.load(folder / ARRAYS_FILE, allow_pickle=False) as npz:
        assert npz["span_lexicon.lift"].dtype == np.float32
    loaded = Model.load(folder)
    np.testing.assert_array_equal(loaded.lexicon.lift, model.lexicon.lift)
    docs = document_inputs(toy_docs(2), rules)
    np.testing.assert_array_equal(loaded.predict_proba(loaded.features.transform(docs), docs),
                                  model.predict_proba(model.features.transform(docs), docs))
    # and the lexicon is used: without it the same model scores differently
    bare = Model(model.features, model.devices, model.coef, model.intercept, model.thresholds, model.stage2)
    with pytest.raises(ValueError):  # its stage 2 expects the lexicon's cues
        bare.predict_proba(model.features.transform(docs), docs)


def test_a_v1_model_without_lexicon_still_loads(rules, tmp_path):
    from rhetoric.model import MANIFEST_DIGEST_KEY, manifest_digest
    from rhetoric.train import TrainingConfig, fit_model

    from conftest import TOY_DEVICES, toy_docs

    # a v1 model had neither the lexicon nor stage-2 trees
    model = fit_model(toy_docs(), rules, TrainingConfig(folds=3, span_lexicon=False, stage2_trees=()),
                      devices=TOY_DEVICES)
    assert model.lexicon is None
    folder = model.save(tmp_path / "v1")
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    assert "span_lexicon" not in manifest
    manifest["format"] = "rhetoric-linear-v1"  # as models saved before the lexicon
    manifest[MANIFEST_DIGEST_KEY] = manifest_digest(manifest)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert Model.load(folder).lexicon is None


def test_terms_without_lift_are_skipped_without_changing_the_cues():
    rng = np.random.default_rng(3)
    lift = rng.gamma(1.0, 1.0, size=(40, 5)).astype(np.float32)
    lift[rng.random(40) < 0.5] = 0.0  # half the terms have no lift at all
    word_X = sp.random(30, 40, density=0.2, random_state=4, format="csr", dtype=np.float32)
    word_X.data += 0.1
    cue_max, cue_sum = span_lexicon.lexicon_cues(word_X, lift)
    dense = word_X.toarray() > 0
    expected_max = np.array([lift[row].max(axis=0) if row.any() else np.zeros(5) for row in dense])
    expected_sum = np.log1p(dense.astype(np.float64) @ lift.astype(np.float64))
    np.testing.assert_allclose(cue_max, expected_max)
    np.testing.assert_allclose(cue_sum, expected_sum, rtol=1e-6)
    again = span_lexicon.lexicon_cues(word_X, lift, lift.any(axis=1))
    np.testing.assert_array_equal(again[0], cue_max)
    np.testing.assert_array_equal(again[1], cue_sum)
