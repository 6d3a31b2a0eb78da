"""The span lexicon: how strongly each word n-gram of the model's vocabulary
sits inside gold spans of each device, as cues for the second stage.

Mining (training only). For every term of the word block's vocabulary and
every output column j (the devices, then 'any technique'), count the term's
occurrences in sentences whose label for j is known, and how many of them
fall inside a gold span of j. The lift is the smoothed rate at which the
term's occurrences are inside such a span, over the column's base rate:

    lift[t, j] = log( ((in_span[t, j] + a * base[j]) / (n[t, j] + a)) / base[j] )

Only positive lifts are kept (the cues below read nothing else). A document
without gold spans (the project's sentence-level labels, or a caller's
LabelledDoc without spans) counts the whole sentence as the span of each
device it is labelled with; with PTC, the techniques' columns and 'any' use
the real spans, the project devices' columns their sentence labels.

Tagging. A sentence's terms are its nonzero columns of the word block of X,
so nothing is tokenised twice. Per column j the cues are the largest lift
among the sentence's terms and log(1 + sum of its lifts); column j's
second-stage design gets the cues of j and of 'any' (rhetoric.context.design
then these, see `append_cues`).

The idea and its constants come from scripts/experiments_ptc.py (`mine_lexicon`,
`lexicon_features`; "stack: ctx + dense + repetition + lexicon" in
docs/ablation.md).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from rhetoric.context import Design
from rhetoric.devices import PTC_DEVICE_IDS
from rhetoric.features import WordNgrams

# Pseudo-occurrences that pull a term's in-span rate towards the base rate, so
# a term seen a few times cannot claim a large lift: a = 10, the value of
# scripts/experiments_ptc.py (configs(): `lexicon=10.0`), the configuration
# that measured +0.017 micro-F1 in grouped CV (docs/ablation.md).
SMOOTHING = 10.0



@dataclass
class SpanLexicon:
    """Positive lifts, (n word terms, n devices + 1): rows are the word block's
    columns, in order; columns the model's devices, then 'any technique'."""

    lift: np.ndarray
    smoothing: float = SMOOTHING

    def __post_init__(self) -> None:
        # float32, as saved: a model in memory scores exactly as reloaded
        self.lift = np.asarray(self.lift, dtype=np.float32)
        self._has_lift = np.asarray(self.lift.any(axis=1))  # the terms lexicon_cues reads

    def cues(self, word_X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        return lexicon_cues(word_X, self.lift, self._has_lift)


def word_vocabulary(space: Any) -> tuple[dict[str, int], tuple[int, int]]:
    """The word block's terms (term -> column within the block) and n-gram range."""
    block, _ = space.word_block()
    return block.vocabulary_, (int(block.ngram_range[0]), int(block.ngram_range[1]))


# -- mining -----------------------------------------------------------------------

@dataclass
class Occurrences:
    """Every occurrence of a vocabulary term in the training sentences: its
    sentence row, its term, and per output column whether it lies inside a
    gold span of that column. Built once; mined for any subset of rows."""

    row: np.ndarray     # (n_occ,) sentence row (rows of X and of the labels)
    term: np.ndarray    # (n_occ,) column within the word block
    inside: np.ndarray  # (n_occ, n_columns) bool
    n_terms: int


def sentence_terms(sentence: str, vocabulary: dict[str, int],
                   ngram_range: tuple[int, int]) -> list[tuple[int, int, int]]:
    """(term, start, end) of each vocabulary n-gram in the sentence, offsets
    into the sentence."""
    tokens = [(m.group().lower(), m.start(), m.end()) for m in WordNgrams.TOKEN.finditer(sentence)]
    found = []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        for i in range(len(tokens) - n + 1):
            k = vocabulary.get(" ".join(w for w, _, _ in tokens[i:i + n]))
            if k is not None:
                found.append((k, tokens[i][1], tokens[i + n - 1][2]))
    return found


def occurrences(docs: Sequence[Any], labels: np.ndarray, devices: Sequence[str], space: Any) -> Occurrences:
    """Tokenise the training sentences once. `docs` are LabelledDocs whose
    sentences are the rows of `labels` (rhetoric.train.column_labels: one
    column per device, then 'any')."""
    vocabulary, ngram_range = word_vocabulary(space)
    n_columns = len(devices) + 1
    span_columns = [j for j, d in enumerate(devices) if d in PTC_DEVICE_IDS]
    rows, terms, inside = [], [], []
    row = 0
    for doc in docs:
        spans = getattr(doc, "spans", None)
        for start, end in doc.sentences:
            found = np.asarray(sentence_terms(doc.text[start:end], vocabulary, ngram_range),
                               dtype=np.int64).reshape(-1, 3)
            # sentence-level labels: the sentence is the span of each device it carries
            flags = np.tile(labels[row] == 1, (len(found), 1))
            if spans is not None:
                # the PTC techniques and 'any' from the gold spans instead
                flags[:, span_columns] = False
                for span in spans:
                    if span.start < end and span.end > start and span.device in devices:
                        j = devices.index(span.device)
                        if j in span_columns:
                            overlaps = (span.start < start + found[:, 2]) & (span.end > start + found[:, 1])
                            flags[overlaps, j] = True
                flags[:, n_columns - 1] = flags[:, span_columns].any(axis=1)
            rows.append(np.full(len(found), row))
            terms.append(found[:, 0])
            inside.append(flags)
            row += 1
    if not rows:
        return Occurrences(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, n_columns), bool),
                           len(vocabulary))
    return Occurrences(np.concatenate(rows).astype(np.int64), np.concatenate(terms),
                       np.vstack(inside), len(vocabulary))


def mine(occ: Occurrences, labels: np.ndarray, rows: np.ndarray | None = None,
         smoothing: float = SMOOTHING) -> np.ndarray:
    """Positive smoothed log lifts (n_terms, n_columns) from the occurrences in
    `rows` (all rows when None); only rows whose label for a column is known
    count for that column."""
    keep = np.ones(len(occ.row), dtype=bool) if rows is None else np.isin(occ.row, rows)
    m = int(keep.sum())
    known = labels[occ.row[keep]] != -1  # -1: rhetoric.train.UNKNOWN
    # occurrences x terms, to sum per term
    T = sp.csr_matrix((np.ones(m), (np.arange(m), occ.term[keep])), shape=(m, occ.n_terms))
    n = np.asarray(T.T @ known.astype(np.float64))                          # per term and column
    hit = np.asarray(T.T @ (occ.inside[keep] & known).astype(np.float64))   # ... inside a span
    totals = n.sum(0)
    base = np.divide(hit.sum(0), totals, out=np.zeros(n.shape[1]), where=totals > 0)
    rate = (hit + smoothing * base) / (n + smoothing)
    lift = np.log(np.divide(rate, base, out=np.ones_like(rate), where=base > 0))
    positive: np.ndarray = np.maximum(lift, 0.0)
    return positive


def out_of_fold(occ: Occurrences, labels: np.ndarray, word_X: sp.csr_matrix,
                folds: Sequence[tuple[np.ndarray, np.ndarray]], keep: np.ndarray | None = None,
                smoothing: float = SMOOTHING) -> tuple[np.ndarray, np.ndarray]:
    """Cues for every row from the lexicon mined on the other folds' rows (as
    rhetoric.train.stage1_out_of_fold does for the stage-1 scores): the cues a
    training row gets never come from its own gold spans. `keep` (bool per
    column, or per term and column) zeroes the other lifts."""
    n_columns = labels.shape[1]
    keep = np.ones(n_columns, dtype=bool) if keep is None else keep
    cue_max, cue_sum = np.zeros((word_X.shape[0], n_columns)), np.zeros((word_X.shape[0], n_columns))
    for train_idx, test_idx in folds:
        # float32: the precision a saved model scores with
        lift = (mine(occ, labels, train_idx, smoothing) * keep).astype(np.float32)
        cue_max[test_idx], cue_sum[test_idx] = lexicon_cues(word_X[test_idx], lift)
    return cue_max, cue_sum


# -- cues ---------------------------------------------------------------------------

def lexicon_cues(word_X: sp.csr_matrix, lift: np.ndarray,
                 has_lift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence (row of the word block) and column: the largest lift among
    its terms, and log(1 + the sum of its terms' lifts). `has_lift`, if
    given, is lift.any(axis=1), kept by the caller for many calls."""
    X = sp.csr_matrix(word_X)
    n, k = X.shape[0], lift.shape[1]
    if not (X.data > 0).all():  # a term is there when its value is positive
        X = sp.csr_matrix((X.data > 0).astype(np.float32), copy=True)
        X.eliminate_zeros()
    lift = np.asarray(lift, dtype=np.float32)
    # Only terms with some lift count (lifts are >= 0, so the others add 0 to
    # the sum and never raise the max): about half the terms of a sentence.
    kept = np.asarray(lift.any(axis=1) if has_lift is None else has_lift)[X.indices]
    indptr = np.r_[0, np.cumsum(kept)][X.indptr]
    binary = sp.csr_matrix((np.ones(int(kept.sum()), dtype=np.float32), X.indices[kept], indptr), shape=X.shape)
    # the sum is a sparse product; the max a reduceat over each row's lifts, in
    # float32 (a float64 copy of every term's lifts cost ~30 us a sentence)
    cue_sum = np.asarray(binary @ lift, dtype=np.float64)
    cue_max = np.zeros((n, k))
    rows = np.flatnonzero(np.diff(binary.indptr))
    if len(rows):
        cue_max[rows] = np.maximum.reduceat(lift[binary.indices], binary.indptr[rows], axis=0)
    return cue_max, np.log1p(cue_sum)


def append_cues(designs: Design, cue_max: np.ndarray, cue_sum: np.ndarray) -> Design:
    """Column j's design gets the cues of j and of 'any' (the last column):
    max j, max any, sum j, sum any; the 'any' design gets its own max and sum."""
    base, k = designs.matrix.shape[1], cue_max.shape[1]
    any_col = len(designs) - 1
    columns = []
    for j, cols in enumerate(designs.columns):
        own = [j, any_col] if j < any_col else [any_col]
        columns.append(np.r_[cols, [base + c for c in own], [base + k + c for c in own]].astype(np.int64))
    return Design(np.hstack([designs.matrix, cue_max, cue_sum]), columns)
