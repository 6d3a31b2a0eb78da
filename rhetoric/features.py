"""Sentences as model features.

A `FeatureSpace` turns a batch of documents (text, sentence spans, rule hits)
into one sparse matrix with a row per sentence, documents in order. It is a
list of blocks, each fitted on training data and exported as plain arrays
plus JSON parameters, so a shipped model is rebuilt at load time without
unpickling anything.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from rhetoric.rules import Hit
from rhetoric.surface import surface_counts

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class DocumentInput:
    """What the features see of one document."""

    text: str
    sentences: Sequence[tuple[int, int]]
    hits: Sequence[Sequence[Hit]]  # rule hits per sentence


def sentence_texts(docs: Sequence[DocumentInput]) -> list[str]:
    return [doc.text[s:e] for doc in docs for s, e in doc.sentences]


class Block(Protocol):
    name: str

    def fit(self, docs: Sequence[DocumentInput]) -> Block: ...
    def transform(self, docs: Sequence[DocumentInput]) -> sp.csr_matrix: ...
    def feature_names(self) -> list[str]: ...
    def params(self) -> dict[str, Any]: ...
    def arrays(self) -> Arrays: ...


# Default TF-IDF settings shared by fitting (sklearn) and transforming (ours):
# sublinear tf, because a word said twice in one sentence is not twice the
# evidence; smooth idf and l2 rows are sklearn's defaults.
_TFIDF = {"sublinear_tf": True, "dtype": np.float32}


def tfidf_rows(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """sklearn's TfidfTransformer (sublinear tf, l2 norm) on a float32 count
    matrix without repeated entries, in place: 1 + log(count), times idf, each
    row scaled to unit length (norms summed in float64, as sklearn does)."""
    data = counts.data
    np.log(data, out=data)
    data += 1.0
    data *= idf[counts.indices]  # float64 idf, product cast back to float32 as sklearn does
    per_row = np.diff(counts.indptr)
    filled = per_row > 0
    squares = data.astype(np.float64)
    squares *= squares
    norms = np.ones(counts.shape[0])
    if len(data):
        # reduceat over the non-empty rows' starts: each sums exactly its row
        norms[filled] = np.sqrt(np.add.reduceat(squares, counts.indptr[:-1][filled]))
    norms[norms == 0] = 1.0
    data /= np.repeat(norms.astype(np.float32), per_row)
    return counts


def _count_matrix(term_ids: list[list[int]], n_terms: int) -> sp.csr_matrix:
    """Rows of term ids (repeats allowed) as a float32 CSR count matrix."""
    lengths = np.fromiter(map(len, term_ids), dtype=np.int64, count=len(term_ids))
    cols = np.fromiter(itertools.chain.from_iterable(term_ids), dtype=np.int64, count=int(lengths.sum()))
    rows = np.repeat(np.arange(len(term_ids)), lengths)
    # COO -> CSR sums the repeats into counts
    return sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(term_ids), n_terms))


class WordNgrams:
    """TF-IDF of lowercased word n-grams. Fitted with sklearn's vectorizer;
    transformed by our own code from the vocabulary and idf arrays alone (the
    same numbers as sklearn's transform, and no sklearn import when tagging:
    it costs most of a cold start)."""

    name = "word"
    # sklearn's default token pattern, r"(?u)\b\w\w+\b", without the word
    # boundaries: findall gives the same tokens (maximal runs), 25% faster
    TOKEN = re.compile(r"\w\w+")

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), min_df: int = 2,
                 max_features: int | None = None) -> None:
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.max_features = max_features

    def _vectorizer(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(ngram_range=self.ngram_range, min_df=self.min_df,
                               max_features=self.max_features, **_TFIDF)

    def fit(self, docs: Sequence[DocumentInput]) -> WordNgrams:
        vectorizer = self._vectorizer().fit(sentence_texts(docs))
        self._set_vocabulary([str(t) for t in vectorizer.get_feature_names_out()], vectorizer.idf_)
        return self

    def _set_vocabulary(self, terms: list[str], idf: np.ndarray, content: np.ndarray | None = None) -> None:
        self.terms_ = terms
        self.vocabulary_ = {t: i for i, t in enumerate(terms)}
        self.idf_ = np.asarray(idf, dtype=np.float64)
        self.content_ = self._content_mask(terms) if content is None else np.asarray(content, dtype=bool)
        self._index_bigrams()

    def _index_bigrams(self) -> None:
        """Bigram columns keyed by their two words' unigram ids, sorted for a
        vectorised lookup (bigrams whose words are not both kept never match)."""
        get, size = self.vocabulary_.get, len(self.terms_)
        keys, cols = [], []
        for col, term in enumerate(self.terms_):
            words = term.split(" ")
            if len(words) == 2 and words[0] in self.vocabulary_ and words[1] in self.vocabulary_:
                keys.append(get(words[0], 0) * size + get(words[1], 0))
                cols.append(col)
        order = np.argsort(np.array(keys, dtype=np.int64))
        self._bigram_keys = np.array(keys, dtype=np.int64)[order]
        self._bigram_cols = np.array(cols, dtype=np.int64)[order]

    def transform(self, docs: Sequence[DocumentInput]) -> sp.csr_matrix:
        texts = sentence_texts(docs)
        if self.ngram_range in ((1, 1), (1, 2)) and self.max_features is None:
            counts = self._unigram_bigram_counts(texts)
        else:
            counts = _count_matrix(self._term_ids(texts), len(self.terms_))
        return tfidf_rows(counts, self.idf_)

    def _unigram_bigram_counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Counts of unigrams and bigrams, the bigrams found by their words' ids:
        with min_df and no max_features, both words of a kept bigram are kept
        unigrams (a word is in at least as many sentences as its bigrams)."""
        find, get = self.TOKEN.findall, self.vocabulary_.get
        sentence_tokens = [find(t.lower()) for t in texts]
        lengths = np.fromiter(map(len, sentence_tokens), dtype=np.int64, count=len(texts))
        tokens = itertools.chain.from_iterable(sentence_tokens)
        ids = np.fromiter(map(get, tokens, itertools.repeat(-1)), dtype=np.int64, count=int(lengths.sum()))
        rows = np.repeat(np.arange(len(texts)), lengths)
        known = ids >= 0
        cols, row_of = [ids[known]], [rows[known]]
        if self.ngram_range[1] == 2 and len(ids) > 1:
            same_sentence = rows[1:] == rows[:-1]
            pair = same_sentence & known[1:] & known[:-1]
            keys = ids[:-1][pair] * len(self.terms_) + ids[1:][pair]
            at = np.searchsorted(self._bigram_keys, keys)
            at[at == len(self._bigram_keys)] = 0
            found = self._bigram_keys[at] == keys
            cols.append(self._bigram_cols[at[found]])
            row_of.append(rows[1:][pair][found])
        col = np.concatenate(cols)
        # COO -> CSR sums the repeats into counts
        return sp.csr_matrix((np.ones(len(col), dtype=np.float32), (np.concatenate(row_of), col)),
                             shape=(len(texts), len(self.terms_)))

    def _term_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Any n-gram range: each sentence's n-grams joined with spaces, as
        sklearn forms them, looked up one by one."""
        find, get = self.TOKEN.findall, self.vocabulary_.get
        low, high = self.ngram_range
        out = []
        for text in texts:
            tokens = find(text.lower())
            terms = list(tokens) if low == 1 else []
            for n in range(max(low, 2), high + 1):
                terms += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
            out.append([i for i in map(get, terms, itertools.repeat(-1)) if i >= 0])
        return out

    def feature_names(self) -> list[str]:
        return [f"{self.name}:{t}" for t in self.terms_]

    @staticmethod
    def _content_mask(terms: Sequence[str]) -> np.ndarray:
        """True for the n-grams with at least one word outside sklearn's English
        stop-word list (computed when fitting and saved with the model)."""
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return np.array([not all(w in ENGLISH_STOP_WORDS for w in t.split()) for t in terms], dtype=bool)

    def content_mask(self) -> np.ndarray:
        return self.content_

    def params(self) -> dict[str, Any]:
        return {"ngram_range": list(self.ngram_range), "min_df": self.min_df,
                "max_features": self.max_features}

    def arrays(self) -> Arrays:
        return {"terms": np.asarray(self.terms_, dtype=str), "idf": self.idf_, "content": self.content_}

    @classmethod
    def from_saved(cls, params: dict[str, Any], arrays: Arrays) -> WordNgrams:
        block = cls(tuple(params["ngram_range"]), params["min_df"], params["max_features"])
        # models saved before 0.2 have no content mask: computed (with sklearn) here
        block._set_vocabulary(arrays["terms"].tolist(), arrays["idf"], arrays.get("content"))
        return block


class CharNgrams(WordNgrams):
    """TF-IDF of character n-grams inside word boundaries (sklearn's char_wb):
    spelling variants, affixes and punctuation runs that word n-grams miss.

    Transforming works word by word: a sentence's counts are the sum of its
    words' n-gram counts, so each distinct word is cut into n-grams once (and
    kept in a bounded cache across batches) and the sum is one sparse product,
    sentences x words times words x n-grams. Several times faster than cutting
    every sentence anew, with the same numbers."""

    name = "char"
    # Words whose n-gram ids are kept between batches: the frequent words of a
    # corpus stay cached; about 30 MB at 100k words of ~7 letters.
    CACHE_WORDS = 100_000

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), min_df: int = 2,
                 max_features: int | None = None) -> None:
        super().__init__(ngram_range, min_df, max_features)
        self._cache: dict[str, np.ndarray] = {}

    def _vectorizer(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        # char_wb 2-5: the range of the model card's baseline (rhetoric.evaluate)
        return TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, min_df=self.min_df,
                               max_features=self.max_features, **_TFIDF)

    def transform(self, docs: Sequence[DocumentInput]) -> sp.csr_matrix:
        # char_wb's words: the lowercased text split at whitespace
        sentence_words = [t.lower().split() for t in sentence_texts(docs)]
        tokens = list(itertools.chain.from_iterable(sentence_words))
        distinct = dict(zip(dict.fromkeys(tokens), itertools.count()))  # word -> its order of first sight
        lengths = np.fromiter(map(len, sentence_words), dtype=np.int64, count=len(sentence_words))
        word_index = np.fromiter(map(distinct.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        # Built straight from CSR arrays: a word twice in a sentence is two
        # entries, and the sparse product adds them up as it goes.
        sentences_by_words = sp.csr_matrix(
            (np.ones(len(tokens), dtype=np.float32), word_index, np.r_[0, np.cumsum(lengths)]),
            shape=(len(sentence_words), len(distinct)))
        counts = (sentences_by_words @ self._word_ngrams(list(distinct))).tocsr()
        return tfidf_rows(counts, self.idf_)

    def _word_ngrams(self, words: list[str]) -> sp.csr_matrix:
        """words x n-grams: each word's n-gram counts."""
        if len(self._cache) > self.CACHE_WORDS:
            self._cache = {}
        cache = self._cache
        ids = list(map(cache.get, words))
        for k in [k for k, found in enumerate(ids) if found is None]:
            ids[k] = cache[words[k]] = self._cut(words[k])
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))  # type: ignore[arg-type]
        cols = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)  # type: ignore[arg-type]
        # repeated n-grams of a word stay separate entries: the product sums them
        return sp.csr_matrix((np.ones(len(cols), dtype=np.float32), cols, np.r_[0, np.cumsum(lengths)]),
                             shape=(len(words), len(self.terms_)))

    def _cut(self, word: str) -> np.ndarray:
        """The vocabulary ids of one word's char_wb n-grams, repeats kept: the
        word padded with a space each side, every n-gram of each length in the
        range, and a padded word shorter than n counted once, whole."""
        padded, get = f" {word} ", self.vocabulary_.get
        low, high = self.ngram_range
        ids = []
        for n in range(low, high + 1):
            for i in range(max(len(padded) - n + 1, 1)):
                ids.append(get(padded[i:i + n], -1))
            if len(padded) <= n:
                break
        return np.array([i for i in ids if i >= 0], dtype=np.int32)

    def _index_bigrams(self) -> None:
        pass  # character n-grams have no word bigrams

    @staticmethod
    def _content_mask(terms: Sequence[str]) -> np.ndarray:
        return np.zeros(len(terms), dtype=bool)


class RuleHits:
    """Which rules, and which devices' rules, fired in the sentence: the model
    learns how far to trust each rule in context (DESIGN.md)."""

    name = "rules"

    def __init__(self, rule_ids: Sequence[str], devices: Sequence[str]) -> None:
        self.rule_ids = list(rule_ids)
        self.devices = list(devices)

    def fit(self, docs: Sequence[DocumentInput]) -> RuleHits:
        return self

    def transform(self, docs: Sequence[DocumentInput]) -> sp.csr_matrix:
        rule_col = {r: i for i, r in enumerate(self.rule_ids)}
        device_col = {d: len(self.rule_ids) + i for i, d in enumerate(self.devices)}
        rows, cols = [], []
        row = 0
        for doc in docs:
            for hits in doc.hits:
                seen = set()
                for hit in hits:
                    for col in (rule_col.get(hit.rule_id), device_col.get(hit.device)):
                        if col is not None and col not in seen:
                            seen.add(col)
                            rows.append(row)
                            cols.append(col)
                row += 1
        data = np.ones(len(rows), dtype=np.float32)
        shape = (row, len(self.rule_ids) + len(self.devices))
        return sp.csr_matrix((data, (rows, cols)), shape=shape)

    def feature_names(self) -> list[str]:
        return [f"rule:{r}" for r in self.rule_ids] + [f"rule_device:{d}" for d in self.devices]

    def params(self) -> dict[str, Any]:
        return {"rule_ids": self.rule_ids, "devices": self.devices}

    def arrays(self) -> Arrays:
        return {}

    @classmethod
    def from_saved(cls, params: dict[str, Any], arrays: Arrays) -> RuleHits:
        return cls(params["rule_ids"], params["devices"])



class Shape:
    """Surface cues that n-grams miss, each scaled to [0, 1] so they sit on the
    same scale as the TF-IDF columns."""

    name = "shape"
    NAMES = ("exclamation", "question", "quote", "upper_share", "long", "short")
    # 40 words: about twice the median PTC sentence length (measured on train)
    LONG_WORDS = 40
    # 6 words: below this a line is mostly a headline, slogan or fragment
    SHORT_WORDS = 6

    def fit(self, docs: Sequence[DocumentInput]) -> Shape:
        return self

    def transform(self, docs: Sequence[DocumentInput]) -> sp.csr_matrix:
        texts = sentence_texts(docs)
        counts = surface_counts(texts)
        words = counts.word_runs
        columns = [[("!" in t) for t in texts], [("?" in t) for t in texts],
                   [('"' in t or "\u201c" in t or "\u201d" in t) for t in texts],
                   counts.upper / np.maximum(counts.letters, 1),
                   words >= self.LONG_WORDS, words < self.SHORT_WORDS]
        return sp.csr_matrix(np.column_stack(columns).astype(np.float32).reshape(len(texts), len(self.NAMES)))

    def feature_names(self) -> list[str]:
        return [f"shape:{n}" for n in self.NAMES]

    def params(self) -> dict[str, Any]:
        return {}

    def arrays(self) -> Arrays:
        return {}

    @classmethod
    def from_saved(cls, params: dict[str, Any], arrays: Arrays) -> Shape:
        return cls()


class GroupCues:
    """The structure of us_vs_them without its topic words: per sentence, how
    many in-group markers (we, our, the people), third-person plurals (they,
    them), out-group labels (the elites, hostile forces, certain countries)
    and blame, threat or opposition cues (against, provoke, smear) it holds,
    and whether they meet. The terms are the us_vs_them rules' `all_of`
    groups (rhetoric/lexicons/us_vs_them.json), copied into the block's
    parameters when it is made, so a saved model keeps the terms it was
    trained with."""

    name = "groups"
    ROLES = ("in", "they", "out", "nation", "cue")
    # Nations, blocs, faiths and parties named as actors: the sides a
    # us-vs-them sentence sets against each other when it names no
    # 'out-group' word ("the United States keeps provoking China"). Written
    # from general knowledge, no corpus text; counted as a group, so no single
    # name becomes evidence on its own.
    NATIONS = ("america", "american", "americans", "the united states", "the us", "washington", "china", "chinese",
               "beijing", "russia", "russian", "russians", "moscow", "the kremlin", "ukraine", "ukrainian",
               "europe", "european", "europeans", "the eu", "brussels", "nato", "the west", "western", "britain",
               "british", "israel", "israeli", "israelis", "iran", "iranian", "palestinians", "arab", "arabs",
               "muslim", "muslims", "islam", "islamic", "christian", "christians", "jews", "jewish",
               "immigrants", "migrants", "refugees", "foreigners", "democrats", "republicans", "liberals",
               "conservatives", "the left", "the right", "the government", "the regime")
    # Which role each us_vs_them all_of group plays: (rule id, group index).
    # hostile_forces' second group mixes in-group markers and cues: its terms
    # that other groups name keep those groups' role, the rest are in-group
    # markers (the motherland, compatriots, the chinese people).
    GROUP_ROLES = {("us_vs_them.we_they_opposed", 0): "in", ("us_vs_them.we_they_opposed", 1): "they",
                   ("us_vs_them.we_they_opposed", 2): "cue", ("us_vs_them.outgroup_labels", 0): "in",
                   ("us_vs_them.outgroup_labels", 1): "out", ("us_vs_them.hostile_forces", 0): "out",
                   ("us_vs_them.hostile_forces", 1): "in|cue", ("us_vs_them.certain_countries", 0): "out",
                   ("us_vs_them.certain_countries", 1): "cue"}
    NAMES = ("in", "they", "out", "nation", "cue", "in_and_other", "other_and_cue", "in_other_cue")
    TOKEN = re.compile(r"[\w'-]+")

    def __init__(self, terms: dict[str, list[str]]) -> None:
        self.terms = {role: sorted(set(terms.get(role, []))) for role in self.ROLES}
        self._patterns = {role: self._pattern(ts) for role, ts in self.terms.items()}

    @staticmethod
    def _pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
        if not terms:
            return None
        # longest first, whole tokens only (texts are normalised to single spaces)
        alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
        return re.compile(rf"(?<![\w'-])(?:{alternatives})(?![\w'-])")

    @classmethod
    def from_definitions(cls, definitions: Sequence[Any]) -> GroupCues:
        by_group = {(d.id, k): list(g) for d in definitions for k, g in enumerate(d.all_of)}
        terms: dict[str, list[str]] = {role: [] for role in cls.ROLES}
        mixed: list[str] = []
        for key, role in cls.GROUP_ROLES.items():
            if role == "in|cue":
                mixed += by_group.get(key, [])
            else:
                terms[role] += by_group.get(key, [])
        known = {t for ts in terms.values() for t in ts}
        terms["in"] += [t for t in mixed if t not in known]
        terms["nation"] = list(cls.NATIONS)
        return cls(terms)

    @classmethod
    def from_rules(cls, rules: Any) -> GroupCues:
        """From a RuleSet (its us_vs_them definitions)."""
        return cls.from_definitions([d for d in rules.definitions if d.device == "us_vs_them"])

    def fit(self, docs: Sequence[DocumentInput]) -> GroupCues:
        return self

    def counts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, len(ROLES)): occurrences of each role's terms per sentence."""
        out = np.zeros((len(texts), len(self.ROLES)))
        for i, text in enumerate(texts):
            norm = " ".join(self.TOKEN.findall(text.lower()))
            for j, role in enumerate(self.ROLES):
                pattern = self._patterns[role]
                if pattern is not None:
                    out[i, j] = len(pattern.findall(norm))
        return out

    def transform(self, docs: Sequence[DocumentInput]) -> sp.csr_matrix:
        c = self.counts(sentence_texts(docs))
        has = c > 0
        other = has[:, 1] | has[:, 2] | has[:, 3]  # a 'they', a named out-group or a nation
        columns = [np.log1p(c), (has[:, 0] & other)[:, None], (other & has[:, 4])[:, None],
                   (has[:, 0] & other & has[:, 4])[:, None]]
        return sp.csr_matrix(np.hstack(columns).astype(np.float32).reshape(len(c), len(self.NAMES)))

    def feature_names(self) -> list[str]:
        return [f"groups:{n}" for n in self.NAMES]

    def params(self) -> dict[str, Any]:
        return {"terms": self.terms}

    def arrays(self) -> Arrays:
        return {}

    @classmethod
    def from_saved(cls, params: dict[str, Any], arrays: Arrays) -> GroupCues:
        return cls(params["terms"])


BLOCK_TYPES: dict[str, Any] = {"word": WordNgrams, "char": CharNgrams, "rules": RuleHits, "shape": Shape,
                               "groups": GroupCues}


class FeatureSpace:
    """The blocks side by side, in a fixed order."""

    def __init__(self, blocks: Sequence[Block]) -> None:
        self.blocks = list(blocks)

    def fit(self, docs: Sequence[DocumentInput]) -> FeatureSpace:
        for block in self.blocks:
            block.fit(docs)
        return self

    def transform(self, docs: Sequence[DocumentInput]) -> sp.csr_matrix:
        return sp.hstack([b.transform(docs) for b in self.blocks], format="csr", dtype=np.float32)

    def feature_names(self) -> list[str]:
        return [n for b in self.blocks for n in b.feature_names()]

    def columns_except(self, kind: type) -> np.ndarray:
        """The column indices of every block that is not of type `kind`."""
        keep, start = [], 0
        for block in self.blocks:
            width = len(block.feature_names())
            if type(block) is not kind:
                keep.append(np.arange(start, start + width))
            start += width
        return np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)

    def word_block(self) -> tuple[WordNgrams, slice]:
        """The word n-gram block and its columns in X (what the repetition cues
        and the span lexicon read)."""
        if not hasattr(self, "_word_block"):
            start = 0
            for block in self.blocks:
                width = len(block.feature_names())
                if type(block) is WordNgrams:
                    self._word_block = (block, slice(start, start + width))
                    break
                start += width
            else:
                raise ValueError("the feature space has no word n-gram block")
        return self._word_block

    def content_terms(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """The columns of X that are word n-grams with a content word in them
        (not only stop words): what the repetition cues count."""
        block, columns = self.word_block()
        return X[:, columns.start + np.flatnonzero(block.content_mask())]

    def to_saved(self) -> tuple[list[dict[str, Any]], Arrays]:
        """JSON-able block descriptions and the arrays, keyed '<block>.<name>'."""
        specs = [{"type": b.name, "params": b.params()} for b in self.blocks]
        arrays = {f"{b.name}.{k}": v for b in self.blocks for k, v in b.arrays().items()}
        return specs, arrays

    @classmethod
    def from_saved(cls, specs: list[dict[str, Any]], arrays: Arrays) -> FeatureSpace:
        blocks = []
        for spec in specs:
            kind = spec["type"]
            if kind not in BLOCK_TYPES:
                raise ValueError(f"unknown feature block {kind!r} in the model manifest")
            prefix = f"{kind}."
            own = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            blocks.append(BLOCK_TYPES[kind].from_saved(spec["params"], own))
        return cls(blocks)
