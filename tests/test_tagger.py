import pytest

import rhetoric
from rhetoric.tagger import Result, Tagger

TEXT = ("They want to erase our glorious history. The shameful elites betrayed us! "
        "The committee met on Tuesday.")


def test_tags_keep_offsets_into_the_original_text(toy_tagger):
    result = toy_tagger.tag(TEXT)
    assert result.tags, "the toy model should find something in TEXT"
    for t in result.tags:
        assert TEXT[t.start:t.end] == t.text
        s, e = result.sentences[t.sentence]
        assert s <= t.start < t.end <= e
        assert 0.0 <= t.score <= 1.0
        assert t.source in ("model", "rule", "rule+model")
    assert [(t.start, t.end, t.device) for t in result.tags] == sorted(
        (t.start, t.end, t.device) for t in result.tags)


def test_model_tags_explain_themselves(toy_tagger):
    result = toy_tagger.tag("The shameful, disgusting elites shamelessly betrayed the people.")
    loaded = [t for t in result.tags if t.device == "loaded_language"]
    assert loaded
    tag = loaded[0]
    assert tag.source in ("model", "rule+model")
    assert tag.evidence.features and all(w > 0 for _, w in tag.evidence.features)
    if tag.source == "rule+model":
        assert tag.evidence.hits and all(h.device == "loaded_language" for h in tag.evidence.hits)


def test_explanations_name_words_rules_and_cues_never_char_fragments(rules):
    from rhetoric.features import CharNgrams, DocumentInput
    from rhetoric.text import split_sentences
    from rhetoric.train import TrainingConfig, fit_model

    from conftest import TOY_DEVICES, toy_docs

    model = fit_model(toy_docs(), rules, TrainingConfig(folds=3, stage2=False, char_ngrams=True),
                      devices=TOY_DEVICES)
    assert any(name.startswith("char:") for name in model.feature_names())
    text = "The shameful, disgusting elites shamelessly betrayed the people."
    spans = split_sentences(text)
    X = model.features.transform([DocumentInput(text, spans, rules.match(text, spans))])
    explained = model.explainable(X)
    top = [model.top_features(explained, j, k=50) for j in range(len(model.devices))]
    names = [name for features in top for name, _ in features]
    assert names and not [n for n in names if n.startswith("char:")]
    # each weight is the full model's: feature value times coefficient
    for j, features in enumerate(top):
        for name, weight in features:
            column = model.feature_names().index(name)
            assert weight == pytest.approx(X[0, column] * model.coef[j][column], abs=1e-4)
    with pytest.raises(ValueError, match="explainable"):
        model.top_features(X, 0)

    # many (row, device) pairs in one call: each the k largest positive
    # contributions of that row, largest first, ties in column order
    texts = ["The shameful elites betrayed the people.", "Our glorious nation will never surrender.",
             "Rainfall was slightly above average."]
    X = model.features.transform([DocumentInput(t, split_sentences(t), rules.match(t, split_sentences(t)))
                                  for t in texts])
    explained = model.explainable(X)
    coef = model.coef[:, model.features.columns_except(CharNgrams)]
    names = [model.feature_names()[c] for c in model.features.columns_except(CharNgrams)]
    pairs = [(r, j) for r in range(3) for j in range(len(model.devices))] + [(1, 0), (0, 1)]
    for k in (1, 3, 50):
        many = model.top_features_many(explained, [r for r, _ in pairs], [j for _, j in pairs], k)
        for (r, j), got in zip(pairs, many, strict=True):
            row = explained[r].toarray().ravel() * coef[j]
            expected = sorted(((-c, col) for col, c in enumerate(row) if c > 0))[:k]
            assert got == [(names[col], round(-c, 4)) for c, col in expected]
    assert model.top_features_many(explained, [], [], 3) == []


def test_plain_sentence_gets_no_model_tag(toy_tagger):
    result = toy_tagger.tag("Rainfall was slightly above average this spring.")
    assert not [t for t in result.tags if t.source != "rule"]


def test_empty_and_whitespace_text_give_empty_result(toy_tagger):
    for text in ("", "   \n\n "):
        result = toy_tagger.tag(text)
        assert result == Result(text) and result.tags == () and result.sentences == ()


@pytest.mark.parametrize("bad", [None, b"bytes", 3, ["list"]])
def test_non_str_raises_type_error_naming_the_type(toy_tagger, bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        toy_tagger.tag(bad)
    with pytest.raises(TypeError, match=type(bad).__name__):
        rhetoric.tag(bad)


def test_threshold_override(toy_model, rules):
    everything = Tagger(toy_model, rules, threshold=0.0).tag(TEXT)
    nothing = Tagger(toy_model, rules, threshold=1.0).tag(TEXT)
    model_devices = set(toy_model.devices)
    assert {t.device for t in everything.tags} >= model_devices
    assert all(t.source == "rule" for t in nothing.tags)
    with pytest.raises(ValueError):
        Tagger(toy_model, rules, threshold=1.5)


def test_rules_only_scores_are_rule_precisions(rules):
    tagger = Tagger(None, rules)
    result = tagger.tag("The shameful, disgusting elites shamelessly betrayed the people.")
    weights = {r.id: r.weight for r in rules.rules}
    assert result.tags
    for t in result.tags:
        assert t.source == "rule"
        assert t.score == max(weights[h.rule_id] for h in t.evidence.hits)


def test_tag_many_is_lazy_ordered_and_batched(toy_tagger, monkeypatch):
    texts = [TEXT, "", "Is this really a coincidence?", "History will not forgive them."] * 5
    calls = []
    original = toy_tagger.model.predict_proba
    monkeypatch.setattr(toy_tagger.model, "predict_proba",
                        lambda X, docs: calls.append(X.shape[0]) or original(X, docs))
    stream = toy_tagger.tag_many(iter(texts), batch_size=8)
    assert not calls  # nothing runs before the first item is asked for
    results = list(stream)
    assert [r.text for r in results] == texts
    assert len(calls) == 3  # 20 texts in batches of 8: one predict_proba per batch
    assert results == [toy_tagger.tag(t) for t in texts]


def test_tag_many_parallel_equals_serial(toy_tagger):
    texts = [f"{TEXT} Number {i}." for i in range(30)] + ["", "Can anyone believe them?"]
    serial = list(toy_tagger.tag_many(texts, batch_size=4))
    assert list(toy_tagger.tag_many(texts, batch_size=4, n_jobs=2)) == serial


def test_tag_many_as_tuples_and_on_error(toy_tagger):
    items = [(TEXT, "a"), (None, "b"), ("", "c")]
    out = list(toy_tagger.tag_many(items, as_tuples=True, on_error="skip"))
    assert [c for _, c in out] == ["a", "b", "c"]
    assert out[1][0].error and "NoneType" in out[1][0].error
    assert out[0][0].error is None
    with pytest.raises(TypeError):
        list(toy_tagger.tag_many([TEXT, None]))
    out = list(toy_tagger.tag_many(items, as_tuples=True, on_error="skip", n_jobs=2))
    assert out[1][0].error and [c for _, c in out] == ["a", "b", "c"]


def test_result_to_dict_is_json_ready(toy_tagger):
    import json

    d = toy_tagger.tag(TEXT).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert set(d) == {"sentences", "tags", "any_technique"}
    assert len(d["any_technique"]) == len(d["sentences"]) and {"fires", "score"} == set(d["any_technique"][0])
    assert {"device", "start", "end", "text", "score", "source", "sentence", "evidence"} <= set(d["tags"][0])


def test_any_technique_per_sentence_follows_the_any_column_threshold(toy_tagger):
    result = toy_tagger.tag(TEXT)
    model = toy_tagger.model
    cut = model.thresholds[model.any_index]
    assert toy_tagger.any_threshold() == cut
    assert len(result.any_technique) == len(result.sentences) == 3
    for a in result.any_technique:
        assert 0.0 <= a.score <= 1.0 and a.fires == (a.score >= cut)
    # the toy 'any' column knows the PTC techniques only (loaded_language, doubt among the toy devices)
    assert [a.fires for a in result.any_technique][1:] == [True, False]
    everything = Tagger(model, toy_tagger.rules, threshold=0.0).tag(TEXT)
    assert all(a.fires for a in everything.any_technique)
    assert [a.score for a in everything.any_technique] == [a.score for a in result.any_technique]


def test_any_technique_without_a_model_is_the_union_of_the_tags(rules):
    result = Tagger(None, rules).tag(TEXT)
    tagged = {t.sentence for t in result.tags}
    assert tagged, "the rules should find something in TEXT"
    assert [a.fires for a in result.any_technique] == [i in tagged for i in range(len(result.sentences))]
    for i, a in enumerate(result.any_technique):
        assert a.score == max((t.score for t in result.tags if t.sentence == i), default=0.0)


def test_tagging_leaves_the_cycle_collector_as_it_found_it(toy_tagger, monkeypatch):
    import gc

    assert gc.isenabled()
    toy_tagger.tag(TEXT)
    assert gc.isenabled()
    gc.disable()
    try:
        toy_tagger.tag(TEXT)
        assert not gc.isenabled()
    finally:
        gc.enable()
    # paused while the batch is tagged, back on even when tagging fails
    seen = []

    def failing_match(text, spans):
        seen.append(gc.isenabled())
        raise RuntimeError("boom")

    monkeypatch.setattr(toy_tagger.rules, "match", failing_match)
    with pytest.raises(RuntimeError):
        toy_tagger.tag(TEXT)
    assert seen == [False] and gc.isenabled()
