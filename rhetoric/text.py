"""Sentence splitting that keeps offsets into the original string.

`split_sentences(text)` returns ``(start, end)`` character offsets (Python
``str`` indices, end exclusive) of each sentence in ``text`` exactly as given.

How a text is split, in three steps:

1. Line breaks cut the text into blocks (see `_is_block_boundary`): a blank
   line is always a boundary, and so is a single line break after a line
   without terminal punctuation (a headline, a list item, a line of a meme or
   a post) unless the next line starts in lower case (a wrapped line goes on).
2. Inside each block NLTK's Punkt decides, with parameters shipped in
   ``rhetoric/data/punkt_en.json`` (built by ``scripts/build_punkt_params.py``
   from the PTC training articles plus a curated abbreviation list), and a
   few changes to its tokenization (see `_language_vars`).
3. A few of Punkt's splits are undone (see `_joins_next`): '"Why?" he
   asked.', "1. Label the enemy".

Importing ``nltk`` costs about 1.4 s because ``nltk/__init__.py`` imports
most of the toolkit (scipy included). Only the Punkt module is needed, so
`_import_punkt_alone` loads it and the few small ``nltk`` modules it imports
(about 35 ms), without running ``nltk/__init__.py``. Nothing is imported
before the first call of `split_sentences`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.resources
import importlib.util
import json
import re
import sys
import threading
import types
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

__all__ = ["split_sentences", "splitter_fingerprint"]

PUNKT_PARAMS_FILE = "punkt_en.json"
"""The Punkt parameters, in ``rhetoric/data/``."""

PUNKT_PARAMS_FORMAT = 1
"""Version of the layout of `PUNKT_PARAMS_FILE`; bump it when the keys change."""

SPLITTER_RULES_VERSION = 2
"""Bump when the block rules or the Punkt settings in this module change, so
that models trained with the old splitter are recognised as stale."""

# Line breaks as `str.splitlines` knows them; "\r\n" counts as one break.
_LINE_BREAK_CHARS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
# Separators that mean "new paragraph or page" on their own (form feed, the
# ASCII file/group/record separators, U+2029 PARAGRAPH SEPARATOR).
_PARAGRAPH_SEPARATOR_CHARS = "\f\x1c\x1d\x1e\u2029"
_LINE_BREAK = re.compile(rf"\r\n|[{_LINE_BREAK_CHARS}]")
# A line break and all the whitespace after it, up to the next line's text
# (the whitespace before it is found by stepping back: a pattern that starts
# with optional whitespace would be tried at every position, 7x slower).
_LINE_BREAK_AND_FOLLOWING_WHITESPACE = re.compile(rf"[{_LINE_BREAK_CHARS}]\s*")
# Punkt's own sentence-end characters (PunktLanguageVars.sent_end_chars): a
# line ending in one of them is left to Punkt.
_PUNKT_SENTENCE_END_CHARS = ".?!"
# Closing quotes and brackets that may follow a sentence end: "(Yes.)" or
# 'he said "no."' still end in terminal punctuation.
_CLOSING_CHARS = "\"')]}\u2019\u201d\u00bb"
# Opening quotes that, like the ASCII '"' that Punkt already excludes, may not
# start a word token: so that '“Mr.' is read as '“' + 'Mr.' and the
# abbreviation is found. Punkt's own pattern with ‘ “ « added.
_PUNKT_WORD_START = r"[^\(\"\`{\[:;&\#\*@\)}\]\-,\u2018\u201c\u00ab]"

_ELLIPSIS_CHAR = "\u2026"
_ELLIPSIS_CHARS = "." + _ELLIPSIS_CHAR
# Opening quotes and brackets; the ASCII quotes open and close, so they are
# left out.
_OPENING_CHARS = "([{\u2018\u201c\u00ab"

# A list number or letter alone: "1.", "12)", "b.", "iv." (3 digits: lists
# longer than 999 items are not prose; "2018." alone is a year, not a marker).
_LIST_MARKER = re.compile(r"(?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})[.)]")

_punkt_import_lock = threading.Lock()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each sentence in `text` exactly as
    given (Python str indices, end exclusive), in order, non-overlapping,
    each span stripped of surrounding whitespace, never empty.
    Empty/whitespace-only text -> []."""
    if not isinstance(text, str):
        raise TypeError(f"split_sentences() needs a str, not {type(text).__name__}")
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text):
        spans.extend(_sentences_in_block(text, block_start, block_end))
    return spans


def splitter_fingerprint() -> str:
    """A short hash that changes when the splitter's output may change: the
    Punkt parameters, the rules in this module and the NLTK version."""
    import importlib.metadata  # here, not at the top: it costs ~10 ms to import

    digest = hashlib.sha256(_params_bytes())
    digest.update(f"rules={SPLITTER_RULES_VERSION}".encode())
    digest.update(f"nltk={importlib.metadata.version('nltk')}".encode())
    return digest.hexdigest()[:16]  # 64 bits: plenty to tell versions apart


# --- blocks: what line breaks decide ---------------------------------------


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """Stripped, non-empty (start, end) stretches of `text` between the line
    breaks that are sentence boundaries whatever Punkt thinks."""
    start = 0
    for run in _LINE_BREAK_AND_FOLLOWING_WHITESPACE.finditer(text):
        run_start = _start_of_whitespace(text, run.start())
        if _is_block_boundary(text, run_start, run.end()):
            yield from _stripped(text, start, run_start)
            start = run.end()
    yield from _stripped(text, start, len(text))


def _start_of_whitespace(text: str, position: int) -> int:
    while position > 0 and text[position - 1].isspace():
        position -= 1
    return position


def _is_block_boundary(text: str, run_start: int, run_end: int) -> bool:
    """Whether the whitespace text[run_start:run_end], which holds at least
    one line break, ends a sentence.

    The choice, for news text, scraped posts and memes:
    - a blank line (two or more breaks) or a paragraph/page separator is
      always a boundary: paragraphs never share a sentence;
    - a single break after a line that ends in . ? or ! (maybe followed by
      closing quotes or brackets) is left to Punkt, which nearly always
      splits there but keeps "Mr.\nSmith" together;
    - a single break after a line without terminal punctuation is a boundary
      (headlines, datelines, list items, bylines, captions and meme lines
      carry no full stop; so does a line ending in "…") unless the next line
      starts with a lower-case letter, which is a wrapped line going on
      ("the\nsame sentence").
    The cost: hard-wrapped prose whose next line starts with a capital or a
    digit ("said\nTrump") gets a spurious boundary; such text is rarer in
    the inputs this library sees than posts with one unit per line.
    """
    if run_start == 0 or run_end == len(text):
        return True  # whitespace at an edge of the text: nothing to join
    breaks = text[run_start:run_end]
    if len(_LINE_BREAK.findall(breaks)) >= 2:  # two breaks make a blank line
        return True
    if any(char in _PARAGRAPH_SEPARATOR_CHARS for char in breaks):
        return True
    if _ends_with_terminal_punctuation(text, run_start):
        return False
    return not text[run_end].islower()


def _ends_with_terminal_punctuation(text: str, end: int) -> bool:
    """Whether text[:end] ends in . ? or !, maybe followed by closing quotes
    or brackets."""
    last = _skip_back(text, 0, end, _CLOSING_CHARS)
    return last >= 0 and text[last] in _PUNKT_SENTENCE_END_CHARS


def _stripped(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """text[start:end] without surrounding whitespace, if anything is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


# --- sentences inside a block: what Punkt decides --------------------------


def _sentences_in_block(text: str, block_start: int, block_end: int) -> Iterator[tuple[int, int]]:
    """Punkt's sentences in text[block_start:block_end], some joined again
    (see `_joins_next`)."""
    block = text[block_start:block_end]
    sentences: list[tuple[int, int]] = []
    for start, end in _tokenizer().span_tokenize(block):
        if sentences and _joins_next(block, *sentences[-1], start):
            start = sentences.pop()[0]
        sentences.append((start, end))
    for start, end in sentences:
        yield from _stripped(text, block_start + start, block_start + end)


def _joins_next(block: str, start: int, end: int, next_start: int) -> bool:
    """Whether Punkt's sentence block[start:end] goes on in the next one:
    - it ends in ? or ! and the next starts in lower case on the same line:
      '"Why?" he asked.' and 'They chanted "Lock her up!" and left.' (Punkt
      always splits after ? and !);
    - it ends in an ellipsis right after an opening quote or bracket
      ('He said: “… We will see.'), or is nothing but an ellipsis;
    - it is nothing but a list number or letter: "1. Label the enemy".
    """
    if _LIST_MARKER.fullmatch(block, start, end):
        return True
    last = _skip_back(block, start, end, _CLOSING_CHARS)
    if last >= start and block[last] in "?!" and block[next_start].islower():
        return _LINE_BREAK.search(block, end, next_start) is None
    before_ellipsis = _skip_back(block, start, end, _ELLIPSIS_CHARS)
    if before_ellipsis == end - 1:
        return False
    return before_ellipsis < start or block[before_ellipsis] in _OPENING_CHARS


def _skip_back(text: str, start: int, end: int, chars: str) -> int:
    """Index of the last character of text[start:end] that is not in `chars`
    (start - 1 if there is none)."""
    position = end - 1
    while position >= start and text[position] in chars:
        position -= 1
    return position


@functools.cache
def _tokenizer() -> Any:
    """The Punkt sentence tokenizer, built once per process."""
    punkt = _punkt_module()
    tokenizer_class = type("RhetoricPunktSentenceTokenizer", (punkt.PunktSentenceTokenizer,),
                           {"text_contains_sentbreak": _text_contains_sentbreak})
    return tokenizer_class(
        _load_punkt_parameters(punkt.PunktParameters()),
        lang_vars=_language_vars(punkt),
        token_cls=_token_class(punkt),
    )


# The commonest candidate contexts: a word of ASCII letters, then '.', '?' or
# '!', whitespace and the next word ("said.\nThe", "it? We"). Punkt's answer
# then follows from two set lookups (below): 68% of the 16,262 contexts of the
# PTC articles are answered so (scripts/check_splitter_shortcut.py).
_PLAIN_CONTEXT = re.compile(r"([A-Za-z]+)([.?!])\s+(\S+)")


def _text_contains_sentbreak(self: Any, context: str) -> bool:
    """Punkt's decision on one candidate context, without building its token
    objects when the context is plain (half of the splitter's time went there).

    Punkt reads "word? Next" as the tokens "word", "?" (a sentence break, by
    its first pass) and at least one more: yes. It reads "word. Next" as
    "word." and the tokens of "Next"; with two letters or more, "word." is
    neither an initial nor a number, so the first pass makes it a sentence
    break unless "word" is a known abbreviation, and the second pass undoes
    that only for a known collocation of "word" and the next token (taken
    here when it is plain letters, so that its type is just its lower case).
    Anything else goes to Punkt itself. The two agree on every candidate
    context of the PTC articles (scripts/check_splitter_shortcut.py) and of
    the repository's own text (tests/test_text.py)."""
    plain = _PLAIN_CONTEXT.fullmatch(context)
    if plain is not None:
        word, mark, following = plain.groups()
        if mark != ".":
            return True
        typ = word.lower()
        if len(word) >= 2 and typ not in self._params.abbrev_types:
            after = self._lang_vars.word_tokenize(following)[0]
            if after.isascii() and after.isalpha() and (typ, after.lower()) not in self._params.collocations:
                return True
    punkt_class: Any = type(self).__mro__[1]
    return bool(punkt_class.text_contains_sentbreak(self, context))


def make_punkt_trainer() -> Any:
    """A `PunktTrainer` that tokenizes words exactly as `split_sentences`
    does, for ``scripts/build_punkt_params.py``."""
    punkt = _punkt_module()
    return punkt.PunktTrainer(lang_vars=_language_vars(punkt), token_cls=_token_class(punkt))


def _language_vars(punkt: types.ModuleType) -> Any:
    """Punkt's English language variables, changed in three ways:

    - opening curly quotes and guillemets cannot start a word (see
      `_PUNKT_WORD_START`);
    - the ellipsis character "…" is a token of its own, like "...", and may
      end a sentence, which Punkt decides as it does for "..." (see
      `_token_class`): "you resent it… Many fear" splits, "I was… like"
      does not; stock Punkt never splits at "…";
    - the patterns are compiled with the standard `re` module. NLTK 3.10
      compiles them with `nltk.redos`, which runs every match under a
      5-second wall-clock limit: one paragraph of about 300,000 sentences
      then fails with TimeoutError (measured), and the guard costs time.
      These patterns are fixed, not caller-supplied, and run in linear time:
      the period context only looks ahead over one whitespace run and one
      token. Without the other two changes the output is identical to stock
      Punkt's on all PTC articles (checked when this was written).
    """
    base = punkt.PunktLanguageVars
    non_word = base()._re_non_word_chars  # "…" is not in it: "it…" splits by MultiChar
    multi_char = f"(?:{base._re_multi_char_punct}|{_ELLIPSIS_CHAR}+)"
    word_tokenizer = re.compile(
        base._word_tokenize_fmt % {"NonWord": non_word, "MultiChar": multi_char, "WordStart": _PUNKT_WORD_START},
        re.UNICODE | re.VERBOSE,
    )
    period_context = re.compile(
        base._period_context_fmt % {"NonWord": non_word, "SentEndChars": f"[.?!{_ELLIPSIS_CHAR}]"},
        re.UNICODE | re.VERBOSE,
    )
    language_vars_class = type(
        "RhetoricPunktLanguageVars",
        (base,),
        {
            "_re_word_start": _PUNKT_WORD_START,
            "_re_multi_char_punct": multi_char,
            "re_boundary_realignment": re.compile(base.re_boundary_realignment.pattern, re.MULTILINE),
            "_word_tokenizer_re": lambda self: word_tokenizer,
            "period_context_re": lambda self: period_context,
        },
    )
    return language_vars_class()


def _token_class(punkt: types.ModuleType) -> type:
    """PunktToken with its patterns compiled by `re` (see `_language_vars`),
    and "…" read as an ellipsis that, like "...", counts as period-final so
    that Punkt's second pass may make it a sentence break."""
    base = punkt.PunktToken

    def __init__(self: Any, tok: str, **params: Any) -> None:
        base.__init__(self, tok, **params)
        if tok.endswith(_ELLIPSIS_CHAR):
            self.period_final = True

    return type(
        "RhetoricPunktToken",
        (base,),
        {
            "__slots__": (),
            "__init__": __init__,
            "_RE_ELLIPSIS": re.compile(rf"(?:\.\.+|{_ELLIPSIS_CHAR}+)$"),
            "_RE_NUMERIC": re.compile(base._RE_NUMERIC.pattern),
            "_RE_INITIAL": re.compile(base._RE_INITIAL.pattern, re.UNICODE),
            "_RE_ALPHA": re.compile(base._RE_ALPHA.pattern, re.UNICODE),
        },
    )


# --- Punkt parameters --------------------------------------------------------


def _params_bytes() -> bytes:
    resource = importlib.resources.files("rhetoric") / "data" / PUNKT_PARAMS_FILE
    return resource.read_bytes()


def _load_punkt_parameters(params: Any) -> Any:
    """Fill a `PunktParameters` from the shipped JSON file."""
    data = json.loads(_params_bytes())
    if data.get("format") != PUNKT_PARAMS_FORMAT:
        raise ValueError(
            f"rhetoric/data/{PUNKT_PARAMS_FILE} has format {data.get('format')!r}, "
            f"this rhetoric reads format {PUNKT_PARAMS_FORMAT}: reinstall rhetoric-tagger "
            "or rebuild the file with scripts/build_punkt_params.py"
        )
    abbreviations = data["abbreviations"]
    params.abbrev_types = set(abbreviations["curated"]) | set(abbreviations["trained"])
    params.collocations = {tuple(pair) for pair in data["collocations"]}
    params.sent_starters = set(data["sentence_starters"])
    params.ortho_context = defaultdict(int, data["orthographic_context"])
    return params


# --- importing Punkt without the rest of NLTK --------------------------------


def _punkt_module() -> types.ModuleType:
    """``nltk.tokenize.punkt``, imported once, as cheaply as possible."""
    with _punkt_import_lock:
        return _import_punkt_once()


@functools.cache
def _import_punkt_once() -> types.ModuleType:
    if "nltk" in sys.modules:  # already paid for: use it
        return importlib.import_module("nltk.tokenize.punkt")
    try:
        return _import_punkt_alone()
    except ImportError:  # a future NLTK layout: fall back to the slow import
        return importlib.import_module("nltk.tokenize.punkt")


def _import_punkt_alone() -> types.ModuleType:
    """Load ``nltk.tokenize.punkt`` without running ``nltk/__init__.py``.

    Empty stand-ins for the packages ``nltk`` and ``nltk.tokenize`` are put in
    `sys.modules` while Punkt and the small modules it imports (pathsec,
    redos, probability, ...) load from the installed nltk; afterwards every
    ``nltk`` entry is taken out again, so that a later ``import nltk``
    anywhere in the process gets the real, complete package, and this module
    keeps a private copy of Punkt. Cost: about 35 ms instead of about 1.4 s
    (python -X importtime, NLTK 3.10.4 on the project machine). A thread
    that imports nltk during those 35 ms would get the stand-in.
    """
    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("rhetoric needs nltk: pip install nltk")
    nltk_dir = list(spec.submodule_search_locations)[0]
    try:
        for name, path in (("nltk", nltk_dir), ("nltk.tokenize", f"{nltk_dir}/tokenize")):
            stand_in = types.ModuleType(name)
            stand_in.__path__ = [path]
            sys.modules[name] = stand_in
        return importlib.import_module("nltk.tokenize.punkt")
    finally:
        for name in [name for name in sys.modules if name.partition(".")[0] == "nltk"]:
            del sys.modules[name]
