"""Property tests: for any Unicode text (surrogates, controls and all), tagging
never raises and keeps its invariants; batches and worker processes give what
one-by-one tagging gives; the splitter's spans are sorted, disjoint, stripped
and within bounds.

Examples per test come from the hypothesis profile registered in conftest.py:
200 by default, 2000 with `--hypothesis-profile=ci-long` (or
RHETORIC_HYPOTHESIS_PROFILE=ci-long). `--hypothesis-show-statistics` prints
how many inputs each test ran.
"""
from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rhetoric.tagger import Tagger  # noqa: E402
from rhetoric.text import split_sentences  # noqa: E402

from test_bad_input import check_result  # noqa: E402


def examples(share: float) -> int:
    """A share of the profile's examples, for tests dearer than the rest."""
    return max(1, int(settings.default.max_examples * share))


# Every code point, lone surrogates included (hypothesis leaves them out by default).
ANY_CHAR = st.characters(exclude_categories=())
# Words and phrases the rules and the toy model react to, and the separators
# the splitter decides on: random text alone rarely makes a tag.
PHRASES = ["The corrupt elites", "shamelessly betrayed", "the people", "vile", "shameful lies",
           "History will not forgive", "Munich 1938", "Our forefathers bled", "Real patriots",
           "the enemy", "Is this really a coincidence", "cover-up", "so-called", "what about",
           "either", "or", "WE WILL NOT", "#Tag", "Mr.", "U.S.", "e.g.", "1.", "iv)", "İ", "ﬁ",
           "😡", "👨‍👩‍👧", "e\u0301", "الحرية", "\u202e", "\ufeff", "\x00", "\ud800"]
SEPARATORS = [" ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", ". ", "? ", "! ", "?!", "...", "…", "\u2028",
              "\u2029", "\x0c", "\x85", '"', "“", "”", "(", ")", "'", ", ", ": ", "; "]
PIECE = st.one_of(st.text(ANY_CHAR, max_size=6), st.sampled_from(PHRASES), st.sampled_from(SEPARATORS))
TEXT = st.one_of(st.lists(PIECE, max_size=40).map("".join), st.text(ANY_CHAR, max_size=200))


@pytest.fixture(scope="module")
def rules_tagger(rules) -> Tagger:
    return Tagger(None, rules)


@given(text=TEXT)
def test_tag_never_raises_and_keeps_its_invariants(toy_tagger, text: str) -> None:
    check_result(toy_tagger.tag(text), text)


@given(text=TEXT)
def test_rules_only_tag_never_raises_and_keeps_its_invariants(rules_tagger, text: str) -> None:
    check_result(rules_tagger.tag(text), text)


@given(text=TEXT)
def test_split_sentences_spans_are_sorted_disjoint_stripped_and_in_bounds(text: str) -> None:
    spans = split_sentences(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        previous_end = end
    if not text.strip():
        assert spans == []
    else:  # nothing but whitespace is left out between sentences
        assert spans
        covered = set().union(*(range(s, e) for s, e in spans))
        assert all(text[i].isspace() for i in range(len(text)) if i not in covered)


@given(text=TEXT)
def test_rule_hits_lie_inside_their_sentence(rules, text: str) -> None:
    spans = split_sentences(text)
    hits = rules.match(text, spans)
    assert len(hits) == len(spans)
    for number, ((start, end), found) in enumerate(zip(spans, hits, strict=True)):
        assert found == sorted(found)
        for hit in found:
            assert hit.sentence == number and start <= hit.start < hit.end <= end


@given(text=TEXT)
def test_sentence_rules_see_only_their_own_sentence(rules, text: str) -> None:
    """The lexicon and pattern rules run over the document's words in one row;
    each sentence still gets exactly what it gets alone."""
    spans = split_sentences(text)
    document = {d.id for d in rules.definitions if d.kind == "document"}
    for (start, end), found in zip(spans, rules.match(text, spans), strict=True):
        alone = rules.match(text, [(start, end)])[0]
        assert [(h.start, h.end, h.rule_id) for h in found if h.rule_id not in document] == \
            [(h.start, h.end, h.rule_id) for h in alone if h.rule_id not in document]


@settings(max_examples=examples(0.25))
@given(texts=st.lists(TEXT, max_size=12), batch_size=st.integers(1, 5))
def test_tag_many_in_batches_equals_tag_one_by_one(toy_tagger, texts: list[str], batch_size: int) -> None:
    assert list(toy_tagger.tag_many(texts, batch_size=batch_size)) == [toy_tagger.tag(t) for t in texts]


# A worker pool costs ~0.3 s to start: a few pools, each over a generated list
# split into several batches so both workers take part.
@settings(max_examples=examples(0.015))
@given(texts=st.lists(TEXT, min_size=5, max_size=30))
def test_tag_many_with_two_workers_equals_tag_one_by_one(toy_tagger, texts: list[str]) -> None:
    assert list(toy_tagger.tag_many(texts, batch_size=4, n_jobs=2)) == [toy_tagger.tag(t) for t in texts]
