"""Tests of the rule layer: the built-in rules' own examples, offsets, speed
on adversarial input, validation of rule files, fingerprint and weights."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from rhetoric.devices import DEVICE_IDS
from rhetoric.rules import (
    OVERRIDE_MIN_FIRES,
    UNMEASURED_WEIGHT,
    Hit,
    LabelledSentences,
    RuleDefinition,
    RuleError,
    RuleSet,
    check_regex_safety,
    measure,
    measure_precision,
    read_definitions,
    tokenize,
    weight_from_counts,
)
from rhetoric.text import split_sentences

BUILTIN = read_definitions()
BY_ID = {d.id: d for d in BUILTIN}


def rule_hits(rules: RuleSet, rule_id: str, text: str) -> list[Hit]:
    """Hits of one rule on `text`, split as the tagger splits it."""
    matched = rules.match(text, split_sentences(text))
    return [h for hits in matched for h in hits if h.rule_id == rule_id]


# ------------------------------------------------------------ the rules' own examples


def test_every_rule_has_match_and_no_match_examples() -> None:
    missing = [d.id for d in BUILTIN if not d.match_examples or not d.no_match_examples]
    assert missing == []


def test_every_device_with_rules_is_a_known_device_and_most_are_covered() -> None:
    devices = {d.device for d in BUILTIN}
    assert devices <= set(DEVICE_IDS)
    assert devices == set(DEVICE_IDS)  # all 18 PTC devices and the 2 project ones


MATCH_CASES = [(d.id, ex) for d in BUILTIN for ex in d.match_examples]
NO_MATCH_CASES = [(d.id, ex) for d in BUILTIN for ex in d.no_match_examples]


@pytest.mark.parametrize(("rule_id", "example"), MATCH_CASES)
def test_rule_matches_its_match_examples(rules: RuleSet, rule_id: str, example: str) -> None:
    assert rule_hits(rules, rule_id, example), f"{rule_id} should match {example!r}"


@pytest.mark.parametrize(("rule_id", "example"), NO_MATCH_CASES)
def test_rule_ignores_its_no_match_examples(rules: RuleSet, rule_id: str, example: str) -> None:
    found = rule_hits(rules, rule_id, example)
    assert not found, f"{rule_id} matched {[example[h.start:h.end] for h in found]} in {example!r}"


# ------------------------------------------------------------ offsets


ALL_EXAMPLES = [ex for d in BUILTIN for ex in (*d.match_examples, *d.no_match_examples)]


@pytest.mark.parametrize("prefix", ["", "Intro line.\n\n   ", "\u0130\u0130 caf\u00e9 \u2014 "])
def test_hits_map_back_into_the_original_text_within_their_sentence(rules: RuleSet, prefix: str) -> None:
    # one document of every example, after a prefix that shifts offsets
    # (the dotted capital I changes length when lowercased)
    text = prefix + "\n".join(ALL_EXAMPLES)
    sentences = split_sentences(text)
    matched = rules.match(text, sentences)
    assert len(matched) == len(sentences)
    count = 0
    for number, hits in enumerate(matched):
        assert hits == sorted(hits)
        start, end = sentences[number]
        for hit in hits:
            count += 1
            assert hit.sentence == number
            assert start <= hit.start < hit.end <= end
            span = text[hit.start:hit.end]
            assert span == span.strip() and span, (hit, span)
    assert count > len(BUILTIN)


@pytest.mark.parametrize(
    ("text", "term_text"),
    [
        ("They are  WITCH\n HUNT experts.", "WITCH\n HUNT"),
        ("Their \u201cexperts\u201d don\u2019t add up: it DOESN\u2019T ADD UP.", "DOESN\u2019T ADD UP"),
    ],
)
def test_multiword_terms_match_across_any_whitespace_and_case(rules: RuleSet, text: str, term_text: str) -> None:
    spans = {text[h.start:h.end] for hits in rules.match(text, [(0, len(text))]) for h in hits}
    assert term_text in spans


def test_multiword_terms_do_not_match_across_punctuation(rules: RuleSet) -> None:
    assert rule_hits(rules, "thought_terminating_cliche.phrases", "It is what it is.")
    assert not rule_hits(rules, "thought_terminating_cliche.phrases", "It is what, it is.")


def test_tokenize_keeps_offsets_and_folds_apostrophes() -> None:
    text = "Don\u2019t re-elect the so-called #Leader, O'Brien!"
    tokens = tokenize(text)
    assert [w for _, _, w in tokens] == ["don't", "re-elect", "the", "so-called", "#leader", "o'brien"]
    for start, end, word in tokens:
        assert text[start:end].lower().replace("\u2019", "'") == word


def test_empty_text_and_no_sentences(rules: RuleSet) -> None:
    assert rules.match("", []) == []
    assert rules.match("Some text.", []) == []
    assert rules.match("   ", [(0, 3)]) == [[]]


def test_match_rejects_non_text(rules: RuleSet) -> None:
    with pytest.raises(TypeError, match="str"):
        rules.match(b"bytes", [(0, 5)])  # type: ignore[arg-type]


# ------------------------------------------------------------ speed

MEGABYTE = 1_000_000
# Generous: the slowest of these takes ~1.6 s of CPU per MB on the
# development machine; a quadratic matcher would take hours.
SECONDS_PER_MEGABYTE = 15.0

ADVERSARIAL = {
    "a a a": "a " * (MEGABYTE // 2),
    "open parens": "(" * MEGABYTE,
    "one long token": "a" * MEGABYTE,
    "hyphen chain": "a-" * (MEGABYTE // 2),
    "nested punctuation": "\"'([{" * (MEGABYTE // 5),
    "trigger words": "why did really either or if we the most what about like the tyrants before " * (MEGABYTE // 78),
    "capitals and bangs": "WE WILL NOT! #Tag? " * (MEGABYTE // 19),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_input_is_matched_in_linear_time(rules: RuleSet, name: str) -> None:
    text = ADVERSARIAL[name]
    for sentences in ([(0, len(text))], [(i, min(i + 300, len(text))) for i in range(0, len(text), 300)]):
        started = time.process_time()
        rules.match(text, sentences)
        elapsed = time.process_time() - started
        assert elapsed < SECONDS_PER_MEGABYTE * len(text) / MEGABYTE, f"{name}: {elapsed:.1f} s"


# Inputs that broke the WHOLE tagger (splitter + rules + features + combine)
# before: "Mr. " and "why? " runs made one sentence with ~10^5 overlapping
# hits of one device, merged by copying the list at every hit (236 s and
# 146 s for 1 MB); many hits were sorted through Hit.__lt__ in Python.
WHOLE_TAGGER_ADVERSARIAL = {
    **ADVERSARIAL,
    "abbreviations": "Mr. " * (MEGABYTE // 4),
    "question words": "why? " * (MEGABYTE // 5),
    "repeated phrase, one sentence": "the corrupt elites betrayed us " * (MEGABYTE // 31),
    "repeated sentence": "The corrupt elites shamelessly betrayed the people. " * (MEGABYTE // 52),
    "dots and spaces": ". " * (MEGABYTE // 2),
    "no spaces": "Zm9vYmFyIGJheg+/" * (MEGABYTE // 16),
    "wrapped lines": "a\n" * (MEGABYTE // 2),
    "emoji": "\U0001F621" * MEGABYTE,
    "combining marks": "e\u0301" * (MEGABYTE // 2),
    "quoted questions": '"Why?" he asked. ' * (MEGABYTE // 17),
    "list markers": "1. " * (MEGABYTE // 3),
    "ellipses": "\u2026 " * (MEGABYTE // 2),
    "nested quotes and brackets": '(("\u201c[{Vile}]\u201d")) ' * (MEGABYTE // 20),
}
# 100 kB each: a step quadratic in the hits of one sentence (as the merge
# was) still takes about twice the bound at this size; the set takes ~6 s.
WHOLE_TAGGER_SIZE = MEGABYTE // 10


@pytest.mark.parametrize("name", list(WHOLE_TAGGER_ADVERSARIAL))
def test_adversarial_input_is_tagged_in_linear_time_by_the_whole_tagger(toy_tagger, name: str) -> None:
    text = WHOLE_TAGGER_ADVERSARIAL[name][:WHOLE_TAGGER_SIZE]
    started = time.process_time()
    result = toy_tagger.tag(text)
    elapsed = time.process_time() - started
    assert elapsed < SECONDS_PER_MEGABYTE * len(text) / MEGABYTE, f"{name}: {elapsed:.1f} s"
    assert all(text[t.start:t.end] == t.text for t in result.tags)


# ------------------------------------------------------------ regex safety


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        (r"\bwhat about\b", None),
        (r"\beither [^.]{1,100}\bor\b", None),
        (r"(?:\w{1,12} )?(?:in|during)", None),
        (r"(?i)\b(?:a|b){1,3}\b", None),
        (r"\bwhat\b.*\?", "unbounded"),
        (r"\w+ly", "unbounded"),
        (r"a{2,}", "unbounded"),
        (r"a{0,500}", "exceeds"),
        (r"(?:\w{1,5} ?){1,5}", "group that repeats"),
        (r"(a)\1", "back-reference"),
        (r"(?P<x>a)(?P=x)", "back-reference"),
        (r"[+*]{1,3}", None),
    ],
)
def test_regex_safety(pattern: str, problem: str | None) -> None:
    found = check_regex_safety(pattern)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


# ------------------------------------------------------------ rule files

GOOD_RULE: dict[str, Any] = {
    "id": "doubt.test", "kind": "lexicon", "description": "test rule", "terms": ["cover-up", "fishy"],
    "examples": {"match": ["A fishy story."], "no_match": ["A story."]},
}


def write_rules(folder: Path, rules: list[dict[str, Any]], device: str = "doubt",
                precision: dict[str, Any] | None = None) -> Path:
    data = {"device": device, "provenance": {"method": "hand-written", "source": "test"}, "rules": rules}
    (folder / f"{device}.json").write_text(json.dumps(data), encoding="utf-8")
    if precision is not None:
        (folder / "precision.json").write_text(json.dumps({"rules": precision}), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "pattern", "terms": [], "triggers": ["why"], "patterns": ["(unclosed"]}, "bad regex"),
        ({"kind": "pattern", "terms": [], "triggers": ["why"], "patterns": [r"\bwhy\b.*\?"]}, "unsafe regex"),
        ({"kind": "magic"}, "unknown kind"),
        ({"id": "loaded_language.test"}, "must start with the device id"),
        ({"terms": ["ab*"]}, "prefix term"),
        ({"terms": []}, "needs 'terms'"),
        ({"terms": "fishy"}, "'terms' must be a list"),
        ({"description": ""}, "'description' is required"),
        ({"kind": "pattern", "terms": [], "triggers": ["two words"], "patterns": ["x"]}, "trigger"),
        ({"kind": "document", "terms": [], "method": "telepathy"}, "unknown document method"),
        ({"kind": "document", "terms": [], "method": "repeated_hits", "params": {"min_count": 2,
          "rules": ["doubt.nothing"]}}, "doubt.nothing"),
    ],
)
def test_bad_rule_files_give_clear_errors(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    rule = {**GOOD_RULE, **change}
    write_rules(tmp_path, [rule])
    with pytest.raises(RuleError) as err:
        RuleSet.load(tmp_path)
    assert message in str(err.value)
    assert "doubt.json" in str(err.value)
    assert rule["id"] in str(err.value)


def test_unknown_device_and_bad_json_name_the_file(tmp_path: Path) -> None:
    write_rules(tmp_path, [GOOD_RULE], device="telepathy")
    with pytest.raises(RuleError, match=r"telepathy\.json: unknown device 'telepathy'"):
        RuleSet.load(tmp_path)
    (tmp_path / "telepathy.json").unlink()
    (tmp_path / "doubt.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RuleError, match=r"doubt\.json: not valid JSON"):
        RuleSet.load(tmp_path)


def test_duplicate_rule_ids_are_refused(tmp_path: Path) -> None:
    write_rules(tmp_path, [GOOD_RULE, GOOD_RULE])
    with pytest.raises(RuleError, match="duplicate id"):
        RuleSet.load(tmp_path)


# ------------------------------------------------------------ fingerprint and weights


def test_fingerprint_changes_with_a_term_but_not_with_a_weight(tmp_path: Path) -> None:
    base = RuleSet.load(write_rules(tmp_path, [GOOD_RULE]))
    reweighed = RuleSet.load(write_rules(tmp_path, [GOOD_RULE], precision={
        "doubt.test": {"fires": 100, "correct": 90}}))
    assert reweighed.rule("doubt.test").weight != base.rule("doubt.test").weight
    assert reweighed.fingerprint == base.fingerprint
    described = RuleSet.load(write_rules(tmp_path, [{**GOOD_RULE, "description": "other words"}]))
    assert described.fingerprint == base.fingerprint
    changed = RuleSet.load(write_rules(tmp_path, [{**GOOD_RULE, "terms": ["cover-up", "fishy", "dubious"]}]))
    assert changed.fingerprint != base.fingerprint


def test_weights_and_override_come_from_measured_counts(tmp_path: Path) -> None:
    rules = [GOOD_RULE, {**GOOD_RULE, "id": "doubt.rare", "terms": ["shady"]},
             {**GOOD_RULE, "id": "doubt.weak", "terms": ["odd"]}, {**GOOD_RULE, "id": "doubt.never", "terms": ["x"]}]
    ruleset = RuleSet.load(write_rules(tmp_path, rules, precision={
        "doubt.test": {"fires": OVERRIDE_MIN_FIRES, "correct": 20},  # 0.67 over 30
        "doubt.rare": {"fires": 10, "correct": 10},  # precise but too rare
        "doubt.weak": {"fires": 100, "correct": 30},
    }))
    assert ruleset.rule("doubt.test").override
    assert ruleset.rule("doubt.test").weight == pytest.approx(weight_from_counts(30, 20))
    assert not ruleset.rule("doubt.rare").override
    assert not ruleset.rule("doubt.weak").override
    assert ruleset.rule("doubt.never").weight == UNMEASURED_WEIGHT
    assert not ruleset.rule("doubt.never").override


def test_builtin_overrides_follow_the_measured_rule(rules: RuleSet) -> None:
    from rhetoric.rules import read_precision

    measured = read_precision()
    for rule in rules.rules:
        stats = measured.get(rule.id, {"fires": 0, "correct": 0})
        expected = stats["fires"] >= 30 and stats["correct"] / stats["fires"] >= 0.6
        assert rule.override == expected, rule.id
        assert 0.0 < rule.weight < 1.0


def test_default_rule_set_is_compiled_once() -> None:
    assert RuleSet.load() is RuleSet.load()


# ------------------------------------------------------------ measuring


def test_measure_counts_sentences_labelled_for_the_device_only(tmp_path: Path) -> None:
    ruleset = RuleSet.load(write_rules(tmp_path, [GOOD_RULE]))
    text = "A fishy deal. Another fishy deal. A cover-up, and fishy. Fishy again."
    sentences = split_sentences(text)
    assert len(sentences) == 4
    doc = LabelledSentences(
        text, sentences,
        positive=[{"doubt"}, set(), {"doubt"}, set()],
        known=[{"doubt"}, {"doubt"}, {"doubt"}, set()],  # the last sentence is not labelled for doubt
    )
    stats = measure_precision(ruleset, [doc])["doubt.test"]
    assert (stats.fires, stats.correct) == (3, 2)  # sentence 3 counts once despite two hits
    assert stats.precision == pytest.approx(2 / 3)
    devices = measure(ruleset, [doc])[1]["doubt"]
    assert (devices.labelled, devices.carrying, devices.caught) == (3, 2, 2)


def test_definitions_are_sorted_and_typed() -> None:
    assert [d.id for d in BUILTIN] == sorted(d.id for d in BUILTIN)
    assert all(isinstance(d, RuleDefinition) for d in BUILTIN)
