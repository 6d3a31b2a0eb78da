"""The second stage: a sentence seen in its document.

Propaganda clusters by article, and repetition is a document-level device, so
the final decision for a device looks beyond the sentence: the first-stage
scores of the sentence, of its neighbours and of its whole document, together
with surface cues, position, how much of its wording recurs in the document,
and the rule hits. One small logistic regression per device over these
(standardised) cues gives the probability the tagger reports.

The feature design follows the grouped-CV ablation in
scripts/experiments_ptc.py ("stack: ctx + dense + repetition").
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from rhetoric.surface import surface_counts

# Six views of a score (own, previous sentence, next sentence, document mean,
# document mean without the sentence, document max): see context_views.
N_VIEWS = 6


def document_layout(sentence_counts: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sentence row: its document index, its position in the document, and
    the document's number of sentences."""
    counts = np.asarray(sentence_counts, dtype=np.int64)
    doc = np.repeat(np.arange(len(counts)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    pos = np.arange(int(counts.sum())) - starts
    return doc, pos, np.repeat(counts, counts)


def _doc_matrix(doc: np.ndarray) -> sp.csr_matrix:
    n_docs = int(doc.max()) + 1 if len(doc) else 0
    return sp.csr_matrix((np.ones(len(doc)), (np.arange(len(doc)), doc)), shape=(len(doc), n_docs))


def context_views(P: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """(n, N_VIEWS, k) views of the scores P (n, k) plus two flags (has a
    previous / next sentence) as (n, 2): returned as one (n, N_VIEWS*k + 2)."""
    n, k = P.shape
    has_prev = np.r_[False, doc[1:] == doc[:-1]] if n else np.zeros(0, bool)
    has_next = np.r_[doc[:-1] == doc[1:], False] if n else np.zeros(0, bool)
    prev, nxt = np.zeros_like(P), np.zeros_like(P)
    prev[has_prev] = P[np.flatnonzero(has_prev) - 1]
    nxt[has_next] = P[np.flatnonzero(has_next) + 1]
    D = _doc_matrix(doc)
    count = np.asarray(D.sum(0)).ravel()[doc][:, None]
    total = np.asarray(D.T @ P)[doc]
    doc_max = np.full((D.shape[1], k), -np.inf)
    np.maximum.at(doc_max, doc, P)
    views = [P, prev, nxt, total / count, (total - P) / np.maximum(count - 1, 1), doc_max[doc]]
    return np.hstack(views + [has_prev[:, None], has_next[:, None]])


def style_cues(texts: Sequence[str]) -> np.ndarray:
    """8 surface cues: log #words, #'!', #'?', #double quotes, share of ALL-CAPS
    words, share of Capitalised words, share of digits, #apostrophes."""
    counts = surface_counts(texts)
    n_words = np.maximum(counts.split_words, 1)
    return np.column_stack([
        np.log1p(counts.split_words), [t.count("!") for t in texts], [t.count("?") for t in texts],
        [t.count('"') + t.count("\u201c") + t.count("\u201d") for t in texts],
        counts.all_caps_words / n_words, counts.capitalised_words / n_words,
        counts.digits / np.maximum(counts.chars, 1),
        [t.count("'") + t.count("\u2019") for t in texts]]).astype(float).reshape(len(texts), 8)


def position_cues(pos: np.ndarray, n_sentences: np.ndarray) -> np.ndarray:
    """5 cues: is the first line (a title), is the second, relative position,
    log #sentences, log position."""
    rel = pos / np.maximum(n_sentences - 1, 1)
    return np.column_stack([pos == 0, pos == 1, rel, np.log1p(n_sentences), np.log1p(pos)]).astype(float)


def repetition_cues(terms: sp.csr_matrix, doc: np.ndarray) -> np.ndarray:
    """5 cues of how much of the sentence's content terms (binary sentence x
    term matrix) recur in other sentences of its document: share recurring,
    log #recurring, log #recurring twice or more, log max and log mean recurrences."""
    matrix = terms.tocsr()
    n = matrix.shape[0]
    present = matrix.data > 0
    row = np.repeat(np.arange(n), np.diff(matrix.indptr))[present]
    # how many sentences of the same document hold each (sentence, term), less itself
    _, where, holders = np.unique(doc[row] * matrix.shape[1] + matrix.indices[present], return_inverse=True,
                                  return_counts=True)
    others = holders[where.ravel()] - 1
    n_terms = np.bincount(row, minlength=n)
    recurring = np.bincount(row, weights=others > 0, minlength=n)
    twice = np.bincount(row, weights=others > 1, minlength=n)
    total = np.bincount(row, weights=others, minlength=n)
    most = np.zeros(n)
    np.maximum.at(most, row, others)
    return np.column_stack([recurring / np.maximum(n_terms, 1), np.log1p(recurring), np.log1p(twice),
                            np.log1p(most), np.log1p(total / np.maximum(n_terms, 1))])


def rule_cues(hits: Sequence[Sequence[Any]], devices: Sequence[str]) -> np.ndarray:
    """log(1 + hits) per device, per sentence (hits: rule hits per sentence)."""
    col = {d: j for j, d in enumerate(devices)}
    out = np.zeros((len(hits), len(devices)))
    for i, sentence_hits in enumerate(hits):
        for h in sentence_hits:
            j = col.get(h.device)
            if j is not None:
                out[i, j] += 1
    return np.log1p(out)


def shared_cues(texts: Sequence[str], sentence_counts: Sequence[int], content_terms: sp.csr_matrix,
                hits: Sequence[Sequence[Any]], devices: Sequence[str]) -> np.ndarray:
    """The cues every device's second stage sees, whatever the scores."""
    doc, pos, n_sentences = document_layout(sentence_counts)
    return np.hstack([style_cues(texts), position_cues(pos, n_sentences), repetition_cues(content_terms, doc),
                      rule_cues(hits, devices)])


class Design:
    """The second-stage inputs of a batch: one matrix of every cue (context
    views of all score columns, neighbour flags, shared cues) and, per output
    column, which of its columns that column's classifier sees. Behaves as the
    list of per-column design matrices; the tagger never builds them, it folds
    the classifiers into one weight matrix over `matrix` (model.Stage2)."""

    def __init__(self, matrix: np.ndarray, columns: list[np.ndarray]) -> None:
        self.matrix = matrix
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns)

    def __getitem__(self, j: int) -> np.ndarray:
        return self.matrix[:, self.columns[j]]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[j] for j in range(len(self)))


def design(scores: np.ndarray, n_devices: int, sentence_counts: Sequence[int], shared: np.ndarray) -> Design:
    """The second-stage design of each output column. `scores` holds the
    first-stage decision values: n_devices device columns, then 'any'.
    Column j sees the views of its own score, of 'any' and of the max over the
    devices, plus the neighbour flags and the shared cues."""
    doc, _, _ = document_layout(sentence_counts)
    n = scores.shape[0]
    P = np.column_stack([scores, scores[:, :n_devices].max(1) if n_devices else np.zeros(n)])
    k = P.shape[1]
    ctx = context_views(P, doc)  # view v of score column c is column v * k + c; then the two flags
    after_views = np.arange(N_VIEWS * k, N_VIEWS * k + 2 + shared.shape[1])
    any_col, max_col = n_devices, n_devices + 1
    columns = []
    for j in range(n_devices + 1):
        own = [j, any_col, max_col] if j < n_devices else [any_col, max_col]
        views = [v * k + c for v in range(N_VIEWS) for c in own]
        columns.append(np.r_[views, after_views].astype(np.int64))
    return Design(np.hstack([ctx, shared]), columns)
