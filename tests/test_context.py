import numpy as np
import pytest
import scipy.sparse as sp

from rhetoric.context import context_views, design, document_layout, position_cues, repetition_cues, style_cues


def test_document_layout():
    doc, pos, n = document_layout([2, 0, 3])
    assert doc.tolist() == [0, 0, 2, 2, 2]
    assert pos.tolist() == [0, 1, 0, 1, 2]
    assert n.tolist() == [2, 2, 3, 3, 3]


def test_context_views_neighbours_and_document_summaries():
    P = np.array([[1.0], [3.0], [5.0], [7.0]])
    doc = np.array([0, 0, 0, 1])
    v = context_views(P, doc)
    own, prev, nxt, mean, mean_others, dmax, has_prev, has_next = v.T
    assert prev.tolist() == [0, 1, 3, 0] and nxt.tolist() == [3, 5, 0, 0]
    assert mean.tolist() == [3, 3, 3, 7] and dmax.tolist() == [5, 5, 5, 7]
    assert mean_others.tolist() == [4, 3, 2, 0]
    assert has_prev.tolist() == [0, 1, 1, 0] and has_next.tolist() == [1, 1, 0, 0]


def test_repetition_cues_count_other_sentences_only():
    # terms: a b c ; sentence 0 has a,b; sentence 1 has a; sentence 2 (other doc) has a,c
    X = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 0, 1]], dtype=float))
    cues = repetition_cues(X, np.array([0, 0, 1]))
    share = cues[:, 0]
    assert share.tolist() == [0.5, 1.0, 0.0]


@pytest.mark.parametrize("text,col,value", [
    ("WAKE UP now!", 1, 1), ("Why? Why not?", 2, 2), ("WAKE UP now!", 4, 2 / 3), ("", 0, 0.0)])
def test_style_cues(text, col, value):
    assert style_cues([text])[0, col] == pytest.approx(value)


def test_position_cues_mark_titles():
    cues = position_cues(np.array([0, 1, 2]), np.array([3, 3, 3]))
    assert cues[:, 0].tolist() == [1, 0, 0] and cues[:, 2].tolist() == [0, 0.5, 1]


def test_design_gives_each_column_its_own_views():
    scores = np.arange(12, dtype=float).reshape(4, 3)  # 2 devices + any
    shared = np.zeros((4, 5))
    designs = design(scores, 2, [4], shared)
    assert len(designs) == 3
    # device columns see (own, any, max) x 6 views + 2 flags + shared; 'any' sees (any, max)
    assert designs[0].shape == (4, 18 + 2 + 5) and designs[2].shape == (4, 12 + 2 + 5)
    assert designs[1][:, 0].tolist() == scores[:, 1].tolist()
