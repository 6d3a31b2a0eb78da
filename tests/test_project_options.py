"""The options for the project devices and 'any' (TrainingConfig.project_C,
stage2_C_project / stage2_C_any, written_weight, project_char_ngrams,
any_threshold_cap, group_cues) and the GroupCues feature block."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rhetoric.features import CharNgrams, DocumentInput, FeatureSpace, GroupCues, Shape, WordNgrams
from rhetoric.model import Model
from rhetoric.train import (
    MAX_PREDICTED_PER_POSITIVE,
    TrainingConfig,
    best_threshold,
    fit_model,
    stage1_plan,
    stage2_Cs,
    threshold_cap,
)

from conftest import TOY_DEVICES, toy_docs

BLOCK = GroupCues({"in": ["we", "our", "the people"], "they": ["they"], "out": ["the elites"],
                   "nation": ["china", "the united states"], "cue": ["provoking", "betrayed"]})


def docs_of(texts):
    text = "\n".join(texts)
    spans, pos = [], 0
    for t in texts:
        spans.append((pos, pos + len(t)))
        pos += len(t) + 1
    return [DocumentInput(text, spans, [[] for _ in texts])]


def test_group_cues_count_roles_and_their_meeting():
    texts = ["The United States keeps provoking China; these are challenges to our core interests.",
             "We met them at the station.",
             "The elites betrayed the people, and they laugh.",
             "Ourselves alone: the peoples of the world."]  # whole words only: no 'our', no 'the people'
    X = BLOCK.transform(docs_of(texts)).toarray()
    names = [n.split(":")[1] for n in BLOCK.feature_names()]
    row = [dict(zip(names, r, strict=True)) for r in X]
    assert row[0]["nation"] == pytest.approx(np.log1p(2)) and row[0]["in_other_cue"] == 1
    assert row[1]["in"] == pytest.approx(np.log1p(1)) and row[1]["in_and_other"] == 0  # 'them' is not a term here
    assert row[2]["in_other_cue"] == 1 and row[2]["other_and_cue"] == 1
    assert not X[3].any()


def test_group_cues_from_the_us_vs_them_rules(rules):
    block = GroupCues.from_rules(rules)
    assert {"we", "our"} <= set(block.terms["in"]) and "they" in block.terms["they"]
    assert "hostile forces" in block.terms["out"] and "provoke" in block.terms["cue"]
    # hostile_forces' mixed group: the in-group terms no other group names go to 'in'
    assert "the motherland" in block.terms["in"] and "the motherland" not in block.terms["cue"]
    assert not set(block.terms["in"]) & set(block.terms["cue"])


def test_group_cues_saved_as_json_and_rebuilt():
    space = FeatureSpace([Shape(), BLOCK])
    specs, arrays = space.to_saved()
    again = FeatureSpace.from_saved(json.loads(json.dumps(specs)), arrays)
    docs = docs_of(["We will never let the elites win.", "Rain."])
    assert np.array_equal(again.transform(docs).toarray(), space.transform(docs).toarray())


def test_columns_except_skips_one_block_type():
    docs = docs_of(["We will never let the elites win.", "They betrayed our people again."])
    space = FeatureSpace([WordNgrams(min_df=1), CharNgrams(min_df=1), Shape()]).fit(docs)
    n_word = len(space.blocks[0].feature_names())
    n_char = len(space.blocks[1].feature_names())
    kept = space.columns_except(CharNgrams)
    assert np.array_equal(kept, np.r_[np.arange(n_word), n_word + n_char + np.arange(len(Shape.NAMES))])


def test_stage1_plan_touches_the_project_columns_only():
    devices = ["loaded_language", "appeal_to_history", "us_vs_them"]
    groups = np.array(["1", "1", "written:a", "written:b"])
    docs = docs_of(["We will never let the elites win.", "They betrayed our people again."])
    space = FeatureSpace([WordNgrams(min_df=1), CharNgrams(min_df=1), Shape()]).fit(docs)
    config = TrainingConfig(C=1.0, project_C=0.3, written_weight=2.0, project_char_ngrams=False)
    plan = stage1_plan(config, devices, groups, space)
    assert plan.C == [1.0, 0.3, 0.3, 1.0]
    assert plan.weights[0] is None and plan.weights[3] is None
    assert np.array_equal(plan.weights[2], [1.0, 1.0, 2.0, 2.0])
    assert plan.features[0] is None and np.array_equal(plan.features[1], space.columns_except(CharNgrams))
    assert np.array_equal(plan.rows(np.array([0, 3])).weights[1], [1.0, 2.0])
    plain = stage1_plan(TrainingConfig(written_weight=1.0), devices, groups, space)
    assert plain.C == [1.0] * 4 and plain.weights == [None] * 4 and plain.features == [None] * 4
    default = stage1_plan(TrainingConfig(), devices, groups, space)  # written rows weigh 4 for the project columns
    assert default.weights[0] is None and default.weights[3] is None
    assert np.array_equal(default.weights[1], [1.0, 1.0, 4.0, 4.0]) and np.array_equal(default.weights[2],
                                                                                     default.weights[1])


def test_group_cues_seen_by_the_project_columns_only():
    devices = ["loaded_language", "us_vs_them"]
    docs = docs_of(["We will never let the elites win.", "They betrayed our people again."])
    space = FeatureSpace([WordNgrams(min_df=1), Shape(), BLOCK]).fit(docs)
    plan = stage1_plan(TrainingConfig(group_cues=True), devices, np.array(["1", "2"]), space)
    n_before = len(space.blocks[0].feature_names()) + len(Shape.NAMES)
    assert np.array_equal(plan.features[0], np.arange(n_before)) and plan.features[1] is None
    assert np.array_equal(plan.features[2], np.arange(n_before))  # 'any'
    both = stage1_plan(TrainingConfig(group_cues=True, group_cue_devices=("loaded_language", "us_vs_them")),
                       devices, np.array(["1", "2"]), space)
    assert both.features[0] is None and both.features[1] is None


def test_group_cues_and_no_char_ngrams_together():
    devices = ["loaded_language", "appeal_to_history", "us_vs_them"]
    docs = docs_of(["We will never let the elites win.", "They betrayed our people again."])
    space = FeatureSpace([WordNgrams(min_df=1), CharNgrams(min_df=1), BLOCK]).fit(docs)
    plan = stage1_plan(TrainingConfig(group_cues=True, project_char_ngrams=False), devices,
                       np.array(["1", "2"]), space)
    n_word, n_char = (len(b.feature_names()) for b in space.blocks[:2])
    assert np.array_equal(plan.features[0], np.arange(n_word + n_char))  # a PTC device: char, no groups
    assert np.array_equal(plan.features[1], np.arange(n_word))  # appeal_to_history: neither
    assert np.array_equal(plan.features[2], space.columns_except(CharNgrams))  # us_vs_them: groups, no char


def test_stage2_Cs_per_column_group():
    devices = ["loaded_language", "us_vs_them"]
    assert stage2_Cs(TrainingConfig(), devices) == [0.1, 0.1, 0.1]
    assert stage2_Cs(TrainingConfig(stage2_C_project=1.0, stage2_C_any=0.03), devices) == [0.1, 1.0, 0.03]


def test_threshold_cap_for_any_only():
    config = TrainingConfig(any_threshold_cap=None)
    assert threshold_cap(config, "any") is None
    assert threshold_cap(config, "us_vs_them") == MAX_PREDICTED_PER_POSITIVE
    # without the cap the F1 optimum may accept more than two sentences per positive
    y = np.array([0, 0, 1, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    assert best_threshold(y, p, None) < best_threshold(y, p)


def test_fit_model_with_every_project_option(rules, tmp_path):
    config = TrainingConfig(folds=3, project_C=0.3, stage2_C_project=1.0, stage2_C_any=0.03, written_weight=2.0,
                            project_char_ngrams=False, char_ngrams=True, any_threshold_cap=None, group_cues=True)
    model = fit_model(toy_docs(3), rules, config, devices=TOY_DEVICES)
    char = [i for i, n in enumerate(model.features.feature_names()) if n.startswith("char:")]
    assert char and not model.coef[TOY_DEVICES.index("us_vs_them"), char].any()
    assert model.coef[TOY_DEVICES.index("loaded_language"), char].any()
    groups = [i for i, n in enumerate(model.features.feature_names()) if n.startswith("groups:")]
    assert groups and not model.coef[TOY_DEVICES.index("loaded_language"), groups].any()
    assert model.coef[TOY_DEVICES.index("us_vs_them"), groups].any()
    assert model.training_designs_ is not None
    model.save(tmp_path / "m")
    again = Model.load(tmp_path / "m")
    assert again.features.feature_names() == model.features.feature_names()


def test_topic_words_are_names_not_pronouns():
    from rhetoric.train import topic_words

    words = topic_words()
    assert {"china", "muslims", "western", "democrats", "brussels"} <= words
    assert not {"the", "us", "we", "left", "government"} & words


def test_topic_blind_device_sees_no_topic_word_nor_char_ngram(rules):
    from rhetoric.train import topical_terms

    config = TrainingConfig(folds=3, char_ngrams=True, topic_blind_devices=("us_vs_them",))
    model = fit_model(toy_docs(), rules, config, devices=TOY_DEVICES)
    plain = fit_model(toy_docs(), rules, TrainingConfig(folds=3, char_ngrams=True), devices=TOY_DEVICES)
    space = model.features
    block, where = space.word_block()
    topical = topical_terms(space)
    assert {block.terms_[i] for i in np.flatnonzero(topical)} >= {"china", "china and"}
    uvt, hist = TOY_DEVICES.index("us_vs_them"), TOY_DEVICES.index("appeal_to_history")
    chars = np.setdiff1d(np.arange(model.coef.shape[1]), space.columns_except(CharNgrams))
    assert len(chars) and not model.coef[uvt, chars].any()
    assert not model.coef[uvt, where.start:where.stop][topical].any()
    assert model.coef[uvt, where.start:where.stop][~topical].any()
    # the other columns are fitted as without the option
    np.testing.assert_array_equal(model.coef[hist], plain.coef[hist])
    # and the lexicon cues of the blind column skip the topic words
    assert not model.lexicon.lift[topical, uvt].any()
    assert np.array_equal(model.lexicon.lift[:, hist], plain.lexicon.lift[:, hist])


def test_topic_blind_default_changes_nothing(rules):
    plan = stage1_plan(TrainingConfig(), TOY_DEVICES, np.array(["a", "b"]), None)
    assert all(f is None for f in plan.features)
