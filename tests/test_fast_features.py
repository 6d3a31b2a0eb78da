"""The tagging-time feature code is our own, written for speed; these tests
hold it to the reference it replaces: sklearn's TfidfVectorizer for the
n-gram blocks, Python's str methods for the surface counts, and the
per-column standardised products for the folded second stage."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from rhetoric.context import design, repetition_cues
from rhetoric.features import CharNgrams, DocumentInput, WordNgrams
from rhetoric.model import Stage2
from rhetoric.surface import surface_counts

TRAIN = [
    "The radical elites betrayed our great nation again and again.",
    "They will never stop; they want to destroy everything we built.",
    "Just as in 1938, appeasement will fail.",
    "A pipeline was approved on Monday by the committee.",
    "ÉCOLE Straße naïve café — über-cool İstanbul ǅemal!",
    "We, the people, will never forget: never, ever.",
    "x y z a b c I O U",
    "Tabs\tand\nnew lines   and   runs of spaces.",
] * 2
TEXTS = TRAIN[:8] + ["", "   ", "never never never", "Unseen zebra-words only", "İ", "a"]

# sentences with the characters that have tripped tokenisers: short words,
# case changes that alter length, non-BMP, whitespace of all kinds
texts_strategy = st.lists(st.text(alphabet=st.sampled_from(
    list("ab AB.!?'\"\t\n-_") + ["İ", "ǅ", "ß", "é", "\u00a0", "\u2003", "😀", "٣", "²", "Ⅻ", "\u0301"]),
    max_size=40), max_size=6)


def docs_of(texts):
    return [DocumentInput(t, [(0, len(t))], [[]]) for t in texts]


def sklearn_reference(block, texts):
    if not texts:  # sklearn refuses an empty batch; ours gives an empty matrix
        return np.zeros((0, len(block.terms_)), dtype=np.float32)
    kw = {"analyzer": "char_wb"} if isinstance(block, CharNgrams) else {}
    vec = TfidfVectorizer(ngram_range=block.ngram_range, vocabulary=block.vocabulary_, sublinear_tf=True,
                          dtype=np.float32, **kw)
    vec.idf_ = block.idf_
    return vec.transform(texts).toarray()


@pytest.mark.parametrize("block", [WordNgrams(min_df=1), WordNgrams((1, 1), min_df=1), WordNgrams((1, 3), min_df=1),
                                   CharNgrams(min_df=1), CharNgrams((1, 3), min_df=1)])
def test_ngram_blocks_equal_sklearn(block):
    block.fit(docs_of(TRAIN))
    ours = block.transform(docs_of(TEXTS)).toarray()
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, sklearn_reference(block, TEXTS), rtol=1e-6, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(texts_strategy)
def test_ngram_blocks_equal_sklearn_on_any_text(texts):
    for block in (WordNgrams(min_df=1), CharNgrams(min_df=1)):
        block.fit(docs_of(TRAIN + ["ab AB a b İ ǅ ß é 😀"]))
        np.testing.assert_allclose(block.transform(docs_of(texts)).toarray(), sklearn_reference(block, texts),
                                   rtol=1e-6, atol=1e-7)


def test_char_cache_is_bounded_and_gives_the_same_numbers():
    block = CharNgrams(min_df=1).fit(docs_of(TRAIN))
    first = block.transform(docs_of(TEXTS)).toarray()
    block.CACHE_WORDS = 3  # forces the cache to be emptied between batches
    for _ in range(2):
        np.testing.assert_array_equal(block.transform(docs_of(TEXTS)).toarray(), first)
    assert len(block._cache) <= 3 + len({w for t in TEXTS for w in t.lower().split()})


def test_saved_vocabulary_transforms_the_same():
    block = WordNgrams(min_df=1).fit(docs_of(TRAIN))
    loaded = WordNgrams.from_saved(block.params(), block.arrays())
    np.testing.assert_array_equal(loaded.transform(docs_of(TEXTS)).toarray(), block.transform(docs_of(TEXTS)).toarray())
    np.testing.assert_array_equal(loaded.content_mask(), block.content_mask())
    old_model = {k: v for k, v in block.arrays().items() if k != "content"}  # saved before the mask was
    np.testing.assert_array_equal(WordNgrams.from_saved(block.params(), old_model).content_mask(), block.content_mask())


def reference_counts(text):
    words = text.split()
    return {"chars": len(text), "letters": sum(c.isalpha() for c in text), "upper": sum(c.isupper() for c in text),
            "digits": sum(c.isdigit() for c in text),
            "word_runs": len(__import__("re").findall(r"\w+", text)), "split_words": len(words),
            "all_caps_words": sum(w.isupper() and len(w) > 1 for w in words),
            "capitalised_words": sum(w[:1].isupper() for w in words)}


@settings(max_examples=200, deadline=None)
@given(texts_strategy)
def test_surface_counts_equal_python_str_methods(texts):
    counts = surface_counts(texts)
    for i, text in enumerate(texts):
        for name, value in reference_counts(text).items():
            assert getattr(counts, name)[i] == value, (text, name)


def test_surface_counts_of_titlecase_and_lone_surrogates():
    texts = ["ǅemal SAYS", "AB\ud800CD", "ǅ", ""]
    counts = surface_counts(texts)
    for i, text in enumerate(texts):
        for name, value in reference_counts(text).items():
            assert getattr(counts, name)[i] == value, (text, name)


def test_folded_stage2_equals_standardised_columns():
    rng = np.random.default_rng(0)
    n_devices, counts = 3, [4, 1, 5]
    scores = rng.normal(size=(sum(counts), n_devices + 1))
    shared = rng.normal(size=(sum(counts), 7))
    d = design(scores, n_devices, counts, shared)
    k = len(d)
    stage2 = Stage2([rng.normal(size=d[j].shape[1]) for j in range(k)],
                    [rng.uniform(0.5, 2, size=d[j].shape[1]) for j in range(k)],
                    [rng.normal(size=d[j].shape[1]) for j in range(k)], rng.normal(size=k))
    expected = 1 / (1 + np.exp(-(np.column_stack([((d[j] - stage2.mean[j]) / stage2.scale[j]) @ stage2.coef[j]
                                                  for j in range(k)]) + stage2.intercept)))
    np.testing.assert_allclose(stage2.predict_proba(d), expected, rtol=1e-10)


def test_repetition_cues_equal_a_plain_count():
    rng = np.random.default_rng(1)
    X = sp.random(30, 12, density=0.3, random_state=2, format="csr")
    doc = np.repeat(np.arange(4), [10, 5, 0, 15])
    cues = repetition_cues(X, doc)
    B = (X.toarray() > 0)
    for i in range(30):
        same = (doc == doc[i]) & (np.arange(30) != i)
        others = B[same][:, B[i]].sum(0)  # per term of sentence i: other sentences holding it
        n_terms = max(B[i].sum(), 1)
        expected = [(others > 0).sum() / n_terms, np.log1p((others > 0).sum()), np.log1p((others > 1).sum()),
                    np.log1p(others.max() if len(others) else 0), np.log1p(others.sum() / n_terms)]
        np.testing.assert_allclose(cues[i], expected, rtol=1e-12)
    assert rng is not None


# -- the rule layer's fast paths ----------------------------------------------

word_texts = st.text(alphabet=st.sampled_from(
    list("ab AB.#'’-_\t\n") + ["İ", "ǅ", "ß", "é", "\u00a0", "😀", "٣", "\u0301"]), max_size=60)


@settings(max_examples=300, deadline=None)
@given(word_texts, st.integers(0, 5))
def test_word_offsets_found_by_search_equal_a_second_tokenisation(text, start):
    from rhetoric.rules import WORD_RE, _Words, normalise

    start = min(start, len(text))
    words = _Words(text, start, len(text))
    piece = text[start:]
    source = normalise(piece) if len(normalise(piece)) == len(piece) else piece  # as _Words tokenises
    expected = [(start + m.start(), start + m.end()) for m in WORD_RE.finditer(source)]
    assert words.spans() == expected
    assert [normalise(text[s:e]) for s, e in words.spans()] == words.words


def repeated_terms_reference(document, params):
    """The first, plain version of repetition.repeated_terms: every content
    n-gram counted as it is met, word by word."""
    from collections import Counter

    stopwords = frozenset(params.get("stopwords", ()))
    size, min_length = params["ngram"], params["min_length"]
    vocabulary = {w for sentence in document.sentences for w in sentence.words}
    content = {w for w in vocabulary if len(w) >= min_length and w.isalpha()} - stopwords
    grams = []
    for number, sentence in enumerate(document.sentences):
        run = 0
        for i, word in enumerate(sentence.words):
            run = run + 1 if word in content else 0
            if run >= size:
                grams.append((number, i + 1 - size, tuple(sentence.words[i + 1 - size:i + 1])))
    counts = Counter(g[2] for g in grams)
    return [(number, document.sentences[number].spans()[first][0],
             document.sentences[number].spans()[first + size - 1][1])
            for number, first, gram in grams if counts[gram] >= params["min_count"]]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["the", "big", "lie", "of", "big", "tech", "Lie", "a1", "x"]),
                         max_size=8), max_size=8),
       st.integers(2, 3), st.integers(2, 3))
def test_repeated_terms_equals_the_plain_version(sentences, size, min_count):
    from rhetoric.rules import _Document, _Words, repeated_terms

    text = ". ".join(" ".join(words) for words in sentences)
    spans, position = [], 0
    for words in sentences:
        sentence = " ".join(words)
        spans.append((position, position + len(sentence)))
        position += len(sentence) + 2
    document = _Document(text, [_Words(text, s, e) for s, e in spans], [[] for _ in spans])
    params = {"ngram": size, "min_count": min_count, "min_length": 2, "stopwords": ["the", "of"]}
    assert repeated_terms(document, params) == repeated_terms_reference(document, params)
