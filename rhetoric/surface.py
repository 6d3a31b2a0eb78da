"""Surface counts of sentences (letters, capitals, digits, words), computed
for a whole batch at once.

The model's surface cues (features.Shape, context.style_cues) once counted
character by character in Python, a fifth of the tagging time. Here the
batch's text becomes one array of code points, each code point is looked up
in a table of its classes (filled from Python's own str methods, so the
counts are exactly what `str.isalpha` and friends give), and the counts per
sentence are sums over that array.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Class bits of a code point.
_KNOWN, _ALPHA, _UPPER, _LOWERISH, _DIGIT, _WORD, _SPACE = 1, 2, 4, 8, 16, 32, 64
_table = np.zeros(0x110000, dtype=np.uint8)  # one byte per Unicode code point, filled on first sight


def _classes(codes: np.ndarray) -> np.ndarray:
    """The class bits of each code point, computing those not seen before."""
    flags: np.ndarray = _table[codes]
    new = np.unique(codes[(flags & _KNOWN) == 0])
    for code in new.tolist():
        c = chr(code)
        _table[code] = (_KNOWN | _ALPHA * c.isalpha() | _UPPER * c.isupper()
                        | _LOWERISH * (c.islower() or (c.istitle() and not c.isupper()))
                        | _DIGIT * c.isdigit()
                        # the regex \w of a str pattern: alphanumerics and '_'
                        | _WORD * (c.isalnum() or c == "_") | _SPACE * c.isspace())
    if len(new):
        flags = _table[codes]
    return flags


@dataclass
class SurfaceCounts:
    """Per sentence: characters, letters, upper-case letters, digits; regex
    \\w+ words; whitespace-separated words, how many of them are ALL-CAPS
    (str.isupper and longer than one character) and how many start with a
    capital."""

    chars: np.ndarray
    letters: np.ndarray
    upper: np.ndarray
    digits: np.ndarray
    word_runs: np.ndarray
    split_words: np.ndarray
    all_caps_words: np.ndarray
    capitalised_words: np.ndarray


# The last batch's counts: the Shape block and the stage-2 style cues ask for
# the same batch's counts one after the other (a tenth of the tagging time).
_last: tuple[list[str], SurfaceCounts] | None = None


def surface_counts(texts: Sequence[str]) -> SurfaceCounts:
    """The counts of a batch of sentences (the last batch's are reused)."""
    global _last
    last = _last  # one read: another thread may replace it
    if last is not None and len(last[0]) == len(texts) and last[0] == list(texts):
        return last[1]
    counts = _count(texts)
    _last = (list(texts), counts)
    return counts


def _count(texts: Sequence[str]) -> SurfaceCounts:
    n = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    # surrogatepass: a lone surrogate (bad input) is counted, not an error
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    flags = _classes(codes)
    row = np.repeat(np.arange(n), lengths)
    starts = np.cumsum(lengths) - lengths
    first = np.zeros(len(codes), dtype=bool)  # first character of its sentence
    first[starts[lengths > 0]] = True

    nonempty = lengths > 0

    def per_sentence(mask: np.ndarray) -> np.ndarray:
        # one pass over the batch; between two non-empty sentences' starts lie
        # exactly the first one's characters
        out = np.zeros(n, dtype=np.int64)
        if len(mask):
            out[nonempty] = np.add.reduceat(mask, starts[nonempty], dtype=np.int64)
        return out

    word, space = (flags & _WORD) > 0, (flags & _SPACE) > 0
    word_start = word & (first | ~np.r_[False, word[:-1]])
    # whitespace-separated words (str.split()): runs of non-space characters
    token = ~space
    token_start = token & (first | ~np.r_[False, token[:-1]])
    token_id = np.cumsum(token_start) - 1          # the run each non-space character is in
    n_tokens = int(token_start.sum())
    tokens_upper = np.bincount(token_id[token & ((flags & _UPPER) > 0)], minlength=n_tokens)
    tokens_lowerish = np.bincount(token_id[token & ((flags & _LOWERISH) > 0)], minlength=n_tokens)
    tokens_length = np.bincount(token_id[token], minlength=n_tokens)
    all_caps = (tokens_upper > 0) & (tokens_lowerish == 0) & (tokens_length > 1)
    token_row = row[token_start]
    return SurfaceCounts(
        chars=lengths,
        letters=per_sentence((flags & _ALPHA) > 0),
        upper=per_sentence((flags & _UPPER) > 0),
        digits=per_sentence((flags & _DIGIT) > 0),
        word_runs=per_sentence(word_start),
        split_words=per_sentence(token_start),
        all_caps_words=np.bincount(token_row[all_caps], minlength=n),
        capitalised_words=per_sentence(token_start & ((flags & _UPPER) > 0)),
    )
