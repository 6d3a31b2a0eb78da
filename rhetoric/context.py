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

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

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
    out = np.zeros((len(texts), 8))
    for i, t in enumerate(texts):
        words = t.split()
        n_words = max(len(words), 1)
        out[i] = (np.log1p(len(words)), t.count("!"), t.count("?"),
                  t.count('"') + t.count("\u201c") + t.count("\u201d"),
                  sum(w.isupper() and len(w) > 1 for w in words) / n_words,
                  sum(w[:1].isupper() for w in words) / n_words,
                  sum(c.isdigit() for c in t) / max(len(t), 1),
                  t.count("'") + t.count("\u2019"))
    return out


def position_cues(pos: np.ndarray, n_sentences: np.ndarray) -> np.ndarray:
    """5 cues: is the first line (a title), is the second, relative position,
    log #sentences, log position."""
    rel = pos / np.maximum(n_sentences - 1, 1)
    return np.column_stack([pos == 0, pos == 1, rel, np.log1p(n_sentences), np.log1p(pos)]).astype(float)


def repetition_cues(terms: sp.csr_matrix, doc: np.ndarray) -> np.ndarray:
    """5 cues of how much of the sentence's content terms (binary sentence x
    term matrix) recur in other sentences of its document: share recurring,
    log #recurring, log #recurring twice or more, log max and log mean recurrences."""
    binary = (terms > 0).astype(np.float64).tocsr()
    D = _doc_matrix(doc)
    per_doc = (D.T @ binary).tocsr()                 # documents x terms: sentences holding it
    M = binary.multiply(D @ per_doc).tocsr()         # per sentence: its terms' document counts
    n_terms = np.asarray(binary.sum(1)).ravel()
    M.data = M.data - 1                              # leave the sentence itself out
    M.eliminate_zeros()
    recurring = np.asarray((M > 0).sum(1)).ravel()
    twice = np.asarray((M > 1).sum(1)).ravel()
    most = np.asarray(M.max(1).todense()).ravel() if M.nnz else np.zeros(binary.shape[0])
    total = np.asarray(M.sum(1)).ravel()
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


def design(scores: np.ndarray, n_devices: int, sentence_counts: Sequence[int], shared: np.ndarray) -> list[np.ndarray]:
    """The second-stage design matrix of each output column. `scores` holds the
    first-stage decision values: n_devices device columns, then 'any'.
    Column j sees the views of its own score, of 'any' and of the max over the
    devices, plus the shared cues."""
    doc, _, _ = document_layout(sentence_counts)
    n = scores.shape[0]
    P = np.column_stack([scores, scores[:, :n_devices].max(1) if n_devices else np.zeros(n)])
    k = P.shape[1]
    ctx = context_views(P, doc)
    views = ctx[:, : N_VIEWS * k].reshape(n, N_VIEWS, k)
    flags = ctx[:, N_VIEWS * k:]
    any_col, max_col = n_devices, n_devices + 1
    out = []
    for j in range(n_devices + 1):
        own = [j, any_col, max_col] if j < n_devices else [any_col, max_col]
        out.append(np.hstack([views[:, :, own].reshape(n, -1), flags, shared]))
    return out
