"""Sentences as model features.

A `FeatureSpace` turns a batch of documents (text, sentence spans, rule hits)
into one sparse matrix with a row per sentence, documents in order. It is a
list of blocks, each fitted on training data and exported as plain arrays
plus JSON parameters, so a shipped model is rebuilt at load time without
unpickling anything.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from rhetoric.rules import Hit

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


class WordNgrams:
    """TF-IDF of lowercased word n-grams; sklearn's vectorizer, rebuilt from
    its vocabulary and idf arrays at load time."""

    name = "word"

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), min_df: int = 2,
                 max_features: int | None = None) -> None:
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.max_features = max_features

    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        # sublinear tf: a word said twice in one sentence is not twice the evidence
        return TfidfVectorizer(ngram_range=self.ngram_range, min_df=self.min_df,
                               max_features=self.max_features, sublinear_tf=True,
                               dtype=np.float32, vocabulary=vocabulary)

    def fit(self, docs: Sequence[DocumentInput]) -> WordNgrams:
        self.vectorizer_ = self._vectorizer().fit(sentence_texts(docs))
        return self

    def transform(self, docs: Sequence[DocumentInput]) -> sp.csr_matrix:
        return self.vectorizer_.transform(sentence_texts(docs)).tocsr()

    def feature_names(self) -> list[str]:
        return [f"word:{t}" for t in self.vectorizer_.get_feature_names_out()]

    def content_mask(self) -> np.ndarray:
        """True for the n-grams with at least one word outside sklearn's English
        stop-word list."""
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        terms = self.vectorizer_.get_feature_names_out()
        return np.array([not all(w in ENGLISH_STOP_WORDS for w in t.split()) for t in terms], dtype=bool)

    def params(self) -> dict[str, Any]:
        return {"ngram_range": list(self.ngram_range), "min_df": self.min_df,
                "max_features": self.max_features}

    def arrays(self) -> Arrays:
        terms = self.vectorizer_.get_feature_names_out()
        return {"terms": np.asarray(terms, dtype=str),
                "idf": np.asarray(self.vectorizer_.idf_, dtype=np.float64)}

    @classmethod
    def from_saved(cls, params: dict[str, Any], arrays: Arrays) -> WordNgrams:
        block = cls(tuple(params["ngram_range"]), params["min_df"], params["max_features"])
        vocabulary = {str(t): i for i, t in enumerate(arrays["terms"])}
        block.vectorizer_ = block._vectorizer(vocabulary)
        block.vectorizer_.idf_ = np.asarray(arrays["idf"], dtype=np.float64)
        return block


class CharNgrams(WordNgrams):
    """TF-IDF of character n-grams inside word boundaries (char_wb): spelling
    variants, affixes and punctuation runs that word n-grams miss."""

    name = "char"

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), min_df: int = 2,
                 max_features: int | None = None) -> None:
        super().__init__(ngram_range, min_df, max_features)

    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        # char_wb 2-5: the range of the model card's baseline (rhetoric.evaluate)
        return TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, min_df=self.min_df,
                               max_features=self.max_features, sublinear_tf=True, dtype=np.float32,
                               vocabulary=vocabulary)

    def feature_names(self) -> list[str]:
        return [f"char:{t}" for t in self.vectorizer_.get_feature_names_out()]

    def content_mask(self) -> np.ndarray:
        return np.zeros(len(self.vectorizer_.get_feature_names_out()), dtype=bool)


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


_WORD = re.compile(r"\w+")


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
        rows = [self._row(t) for t in sentence_texts(docs)]
        return sp.csr_matrix(np.asarray(rows, dtype=np.float32).reshape(len(rows), len(self.NAMES)))

    def _row(self, text: str) -> list[float]:
        words = _WORD.findall(text)
        letters = sum(c.isalpha() for c in text) or 1
        return [float("!" in text), float("?" in text),
                float(any(q in text for q in "\"“”")),
                sum(c.isupper() for c in text) / letters,
                float(len(words) >= self.LONG_WORDS), float(len(words) < self.SHORT_WORDS)]

    def feature_names(self) -> list[str]:
        return [f"shape:{n}" for n in self.NAMES]

    def params(self) -> dict[str, Any]:
        return {}

    def arrays(self) -> Arrays:
        return {}

    @classmethod
    def from_saved(cls, params: dict[str, Any], arrays: Arrays) -> Shape:
        return cls()


BLOCK_TYPES: dict[str, Any] = {"word": WordNgrams, "char": CharNgrams, "rules": RuleHits, "shape": Shape}


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

    def content_terms(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """The columns of X that are word n-grams with a content word in them
        (not only stop words): what the repetition cues count."""
        if not hasattr(self, "_content_columns"):
            start, columns = 0, np.zeros(0, dtype=np.int64)
            for block in self.blocks:
                width = len(block.feature_names())
                if type(block) is WordNgrams:
                    columns = start + np.flatnonzero(block.content_mask())
                start += width
            self._content_columns = columns
        return X[:, self._content_columns]

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
