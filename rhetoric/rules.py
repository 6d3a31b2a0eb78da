"""The rule layer: rules kept as data, compiled once, matched in linear time.

A rule file is `rhetoric/lexicons/<device_id>.json`::

    {"device": "doubt",
     "provenance": {"source": "...", "method": "hand-written | mined", "script": "..."},
     "rules": [{"id": "doubt.so_called", "kind": "pattern", "description": "...",
                "triggers": ["so-called", "so"], "patterns": ["\\\\bso[- ]called\\\\b"],
                "examples": {"match": ["..."], "no_match": ["..."]}}]}

Rule kinds and the fields they use:

* ``lexicon`` -- ``terms``: words or word sequences, matched case-insensitively
  on word tokens (``"witch hunt"`` matches "Witch  Hunt"); a single-word term
  ending in ``*`` is a prefix (``"annihilat*"``). One hit per occurrence.
* ``pattern`` -- either ``patterns`` (regular expressions, run on a sentence
  only when one of its ``triggers`` is present: a trigger is a lowercased word
  token or a single non-word character such as ``"?"``; a rule without
  triggers runs on every sentence, so keep those few), or ``all_of``: a list
  of term groups that must all occur in the sentence (one hit from the first
  to the last marker). Regexes are restricted so that matching stays linear:
  every repeat is bounded (``{0,80}``, never ``*``, ``+`` or ``{n,}``), no
  repeat is nested inside a quantified group, no back-references.
* ``document`` -- needs the whole document; ``method`` names one of
  DOCUMENT_METHOD_FUNCTIONS: ``repeated_terms`` (every occurrence of a content
  n-gram repeated ``min_count`` times; ``params``: ``ngram``, ``min_count``,
  ``min_length``, ``stopwords``), ``repeated_hits`` (hits of the listed
  ``rules`` whose words recur ``min_count`` times) and ``anaphora``
  (consecutive sentences opening with the same ``ngram`` words).

Every rule carries examples written for it (``match`` / ``no_match``), which
tests/test_rules.py checks. Matching is linear in the text: one findall per
sentence, then, over the document's words in one row, a set of its words
and dict lookups for the terms and trigger words (a term never spans two
sentences), and regexes restricted as above that run only on sentences
holding one of their trigger words.

Weights come from ``precision.json`` beside the rule files, written by
``scripts/measure_rules.py`` (see :func:`measure_precision`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhetoric.devices import DEVICE_IDS

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

RULE_KINDS = ("lexicon", "pattern", "document")
PRECISION_FILE = "precision.json"

# Weight of a rule never measured: the midpoint, "no evidence either way"; the
# same value the smoothed estimate below gives for zero firings.
UNMEASURED_WEIGHT = 0.5
# Override rule stated in DESIGN.md / the rule-layer brief: a rule may fire its
# device against the model only when measured precision >= 0.6 over >= 30 firings.
OVERRIDE_MIN_PRECISION = 0.6
OVERRIDE_MIN_FIRES = 30
# Regex safety limits. 100 characters is about 15 words, wider than any window
# a sentence-level cue needs; prefixes shorter than 4 letters match too much.
MAX_REPEAT = 100
MIN_PREFIX = 4
# Distinct words whose lexicon entries are remembered: a large English
# vocabulary (~10 MB of memory); beyond it, new words are resolved each time.
RESOLVED_WORDS_LIMIT = 200_000

# Word tokens: letters/digits joined by apostrophes or hyphens ("don't",
# "so-called"), and hashtags. The separator classes are disjoint from the word
# class, so the repeat cannot backtrack.
WORD_RE = re.compile(r"#?[^\W_]+(?:['\-][^\W_]+)*")


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    id: str
    device: str
    kind: str  # "lexicon" | "pattern" | "document"
    description: str
    weight: float  # smoothed sentence-level precision on PTC train, see weight_from_counts
    override: bool  # measured precision >= 0.6 over >= 30 firings


@dataclass(frozen=True, order=True, slots=True)
class Hit:
    sentence: int  # index into the sentences passed to match()
    start: int  # character offsets into the original text, end exclusive
    end: int
    rule_id: str
    device: str


# The dataclass order of Hit (its fields in turn) as a sort key compared in C:
# sorting by Hit.__lt__ called Python code per comparison, 60% of match()'s
# time on a text with many repeated phrases (measured on 2 MB: 7.7 of 12.4 s).
_HIT_ORDER = operator.attrgetter("sentence", "start", "end", "rule_id", "device")


@dataclass(frozen=True)
class RuleDefinition:
    """A rule as written in its file: what it matches, and its examples."""

    id: str
    device: str
    kind: str
    description: str
    source: str  # the file it came from
    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    all_of: tuple[tuple[str, ...], ...] = ()
    method: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    match_examples: tuple[str, ...] = ()
    no_match_examples: tuple[str, ...] = ()

    def matching_content(self) -> dict[str, Any]:
        """Everything that decides what the rule matches (fingerprinted)."""
        return {"id": self.id, "device": self.device, "kind": self.kind,
                "terms": list(self.terms), "patterns": list(self.patterns),
                "triggers": list(self.triggers), "all_of": [list(g) for g in self.all_of],
                "method": self.method, "params": dict(self.params)}


# ---------------------------------------------------------------- tokens


def normalise(text: str) -> str:
    """Lowercase with curly apostrophes folded, same length as the input when
    possible (callers fall back to per-token work when it is not)."""
    return text.lower().replace("\u2019", "'")


# A word token: (start, end, normalised word), offsets into the original text.
Token = tuple[int, int, str]


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Word tokens of text[start:end] as (start, end, normalised word), offsets
    into `text`."""
    end = len(text) if end is None else end
    piece = text[start:end]
    low = normalise(piece)
    if len(low) == len(piece):
        return [(start + m.start(), start + m.end(), m.group()) for m in WORD_RE.finditer(low)]
    # Rare: lowercasing changed the length (e.g. dotted capital I); tokenize
    # the original and normalise each token so offsets stay exact.
    return [(start + m.start(), start + m.end(), normalise(m.group()))
            for m in WORD_RE.finditer(piece)]


class _Words:
    """The normalised words of one sentence, found with one findall; their
    offsets are computed only when asked for (most sentences need none)."""

    __slots__ = ("start", "words", "_source", "_lowered", "_spans")

    def __init__(self, text: str, start: int, end: int) -> None:
        piece = text[start:end]
        low = normalise(piece)
        self.start = start
        self._lowered = len(low) == len(piece)
        if self._lowered:
            self._source = low
            self.words: list[str] = WORD_RE.findall(low)
        else:  # see tokenize()
            self._source = piece
            self.words = [normalise(w) for w in WORD_RE.findall(piece)]
        self._spans: list[tuple[int, int]] | None = None

    def spans(self) -> list[tuple[int, int]]:
        """(start, end) of each word, offsets into the original text."""
        if self._spans is None:
            base = self.start
            if not self._lowered:
                self._spans = [(base + m.start(), base + m.end()) for m in WORD_RE.finditer(self._source)]
                return self._spans
            # Each word is the first occurrence of its string after the one
            # before: no token can begin in the gap between two tokens (the gap
            # holds no word character). Twice as fast as a second finditer.
            spans, find, position = [], self._source.find, 0
            for word in self.words:
                first = find(word, position)
                position = first + len(word)
                spans.append((base + first, base + position))
            self._spans = spans
        return self._spans


def term_words(term: str) -> tuple[str, ...]:
    """The normalised word tokens of a lexicon term."""
    return tuple(word for _, _, word in tokenize(term))


# ---------------------------------------------------------------- validation


def check_regex_safety(pattern: str) -> str | None:
    """Why `pattern` could match in more than linear time, or None if it is safe.

    A small scan of the pattern text: escapes and character classes are
    skipped; quantifiers must be bounded by MAX_REPEAT; a group that contains
    a quantifier may itself only be made optional (``?``); back-references
    are refused."""
    group_has_repeat: list[bool] = []
    last_group_had_repeat = False
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        after_group = last_group_had_repeat
        last_group_had_repeat = False
        if ch == "\\":
            nxt = pattern[i + 1:i + 2]
            if nxt.isdigit() and nxt != "0":
                return "back-references are not allowed"
            i += 2
            continue
        if ch == "[":
            i = _skip_class(pattern, i)
            continue
        if ch == "(":
            if pattern.startswith("(?P=", i):
                return "back-references are not allowed"
            group_has_repeat.append(False)
            i += 1
            continue
        if ch == ")":
            last_group_had_repeat = group_has_repeat.pop() if group_has_repeat else False
            i += 1
            continue
        if ch in "*+":
            return f"unbounded repeat {ch!r} at {i}: use a bounded {{0,{MAX_REPEAT}}}"
        if ch == "{":
            close = pattern.find("}", i)
            bounds = pattern[i + 1:close] if close > 0 else ""
            if re.fullmatch(r"\d{1,4}(,\d{0,4})?", bounds):
                high = bounds.split(",")[-1]
                if not high:
                    return f"unbounded repeat {{{bounds}}} at {i}"
                if int(high) > MAX_REPEAT:
                    return f"repeat {{{bounds}}} at {i} exceeds {MAX_REPEAT}"
                if after_group:
                    return f"repeat at {i} applied to a group that repeats inside"
                if group_has_repeat:
                    group_has_repeat[-1] = True
                i = close + 1
                continue
        if ch == "?" and group_has_repeat and i > 0 and pattern[i - 1] != "(":
            group_has_repeat[-1] = True
        i += 1
    return None


def _skip_class(pattern: str, i: int) -> int:
    """Index just past the character class that opens at pattern[i] == '['."""
    j = i + 1
    if pattern[j:j + 1] == "^":
        j += 1
    if pattern[j:j + 1] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


def _fail(source: str, rule_id: str, message: str) -> RuleError:
    return RuleError(f"{source}: rule {rule_id!r}: {message}")


def _strings(raw: Mapping[str, Any], key: str, source: str, rule_id: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(source, rule_id, f"{key!r} must be a list of non-empty strings")
    return tuple(value)


def _check_terms(terms: Iterable[str], source: str, rule_id: str) -> None:
    for term in terms:
        words = term_words(term.rstrip("*"))
        if not words:
            raise _fail(source, rule_id, f"term {term!r} has no word in it")
        if term.endswith("*") and (len(words) != 1 or len(words[0]) < MIN_PREFIX):
            raise _fail(source, rule_id,
                        f"prefix term {term!r} must be one word of >= {MIN_PREFIX} letters")


def _check_patterns(defn: RuleDefinition) -> None:
    if defn.all_of:
        if len(defn.all_of) < 2:
            raise _fail(defn.source, defn.id, "'all_of' needs at least two term groups")
        for group in defn.all_of:
            _check_terms(group, defn.source, defn.id)
        return
    if not defn.patterns:
        raise _fail(defn.source, defn.id, "a pattern rule needs 'patterns' or 'all_of'")
    for trigger in defn.triggers:
        if len(trigger) != 1 and term_words(trigger) != (normalise(trigger),):
            raise _fail(defn.source, defn.id,
                        f"trigger {trigger!r} must be one lowercase word or one character")
    for pattern in defn.patterns:
        try:
            re.compile(pattern)
        except re.error as err:
            raise _fail(defn.source, defn.id, f"bad regex {pattern!r}: {err}") from None
        problem = check_regex_safety(pattern)
        if problem:
            raise _fail(defn.source, defn.id, f"unsafe regex {pattern!r}: {problem}")


# The parameters each document method needs (all positive integers, except
# "rules": rule ids, and "stopwords": words).
DOCUMENT_METHOD_PARAMS = {
    "repeated_terms": ("ngram", "min_count", "min_length"),
    "repeated_hits": ("min_count",),
    "anaphora": ("ngram",),
}


def _check_document(defn: RuleDefinition) -> None:
    if defn.method not in DOCUMENT_METHOD_PARAMS:
        raise _fail(defn.source, defn.id, f"unknown document method {defn.method!r}; "
                    f"known: {', '.join(DOCUMENT_METHOD_PARAMS)}")
    for key in DOCUMENT_METHOD_PARAMS[defn.method]:
        if not isinstance(defn.params.get(key), int) or defn.params[key] < 1:
            raise _fail(defn.source, defn.id, f"params.{key} must be a positive integer")
    for key in ("stopwords", "rules"):
        value = defn.params.get(key, [])
        if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
            raise _fail(defn.source, defn.id, f"params.{key} must be a list of strings")
    if defn.method == "repeated_hits" and not defn.params.get("rules"):
        raise _fail(defn.source, defn.id, "params.rules must name the rules whose hits are counted")


def _check_references(definitions: Sequence[RuleDefinition]) -> None:
    """Document rules that count other rules' hits must name existing,
    non-document rules."""
    kinds = {d.id: d.kind for d in definitions}
    for defn in definitions:
        for ref in defn.params.get("rules", []) if defn.kind == "document" else []:
            if kinds.get(ref) in (None, "document"):
                raise _fail(defn.source, defn.id, f"params.rules names {ref!r}, "
                            "which is not a lexicon or pattern rule of this rule set")


def parse_rule(raw: Any, device: str, source: str) -> RuleDefinition:
    """One validated rule definition from its JSON object."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise RuleError(f"{source}: every rule needs a string 'id'")
    rule_id: str = raw["id"]
    if not rule_id.startswith(device + "."):
        raise _fail(source, rule_id, f"id must start with the device id '{device}.'")
    kind = raw.get("kind")
    if kind not in RULE_KINDS:
        raise _fail(source, rule_id, f"unknown kind {kind!r}; known: {RULE_KINDS}")
    examples = raw.get("examples", {})
    if not isinstance(examples, dict):
        raise _fail(source, rule_id, "'examples' must be an object")
    all_of = raw.get("all_of", [])
    if not isinstance(all_of, list):
        raise _fail(source, rule_id, "'all_of' must be a list of term lists")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise _fail(source, rule_id, "'params' must be an object")
    defn = RuleDefinition(
        id=rule_id, device=device, kind=kind, source=source,
        description=str(raw.get("description", "")),
        terms=_strings(raw, "terms", source, rule_id),
        patterns=_strings(raw, "patterns", source, rule_id),
        triggers=tuple(normalise(t) for t in _strings(raw, "triggers", source, rule_id)),
        all_of=tuple(_strings({"g": g}, "g", source, rule_id) for g in all_of),
        method=str(raw.get("method", "")), params=params,
        match_examples=_strings(examples, "match", source, rule_id),
        no_match_examples=_strings(examples, "no_match", source, rule_id),
    )
    if not defn.description:
        raise _fail(source, rule_id, "'description' is required")
    if kind == "lexicon":
        if not defn.terms:
            raise _fail(source, rule_id, "a lexicon rule needs 'terms'")
        _check_terms(defn.terms, source, rule_id)
    elif kind == "pattern":
        _check_patterns(defn)
    else:
        _check_document(defn)
    return defn


def parse_rule_file(data: Any, source: str) -> list[RuleDefinition]:
    """The validated rules of one device file."""
    if not isinstance(data, dict):
        raise RuleError(f"{source}: a rule file is a JSON object")
    device = data.get("device")
    if device not in DEVICE_IDS:
        raise RuleError(f"{source}: unknown device {device!r}; known: {', '.join(DEVICE_IDS)}")
    if not isinstance(data.get("provenance"), dict):
        raise RuleError(f"{source}: a 'provenance' object is required")
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        raise RuleError(f"{source}: 'rules' must be a non-empty list")
    return [parse_rule(raw, device, source) for raw in rules]


def read_definitions(directory: str | Path | Traversable | None = None) -> list[RuleDefinition]:
    """Every rule definition in a rule directory (the built-in one by default),
    sorted by id; duplicate ids are an error."""
    folder = _rule_dir(directory)
    definitions: list[RuleDefinition] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json") or entry.name == PRECISION_FILE:
            continue
        source = entry.name
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise RuleError(f"{source}: not valid JSON: {err}") from None
        definitions.extend(parse_rule_file(data, source))
    seen: dict[str, str] = {}
    for defn in definitions:
        if defn.id in seen:
            raise _fail(defn.source, defn.id, f"duplicate id (also in {seen[defn.id]})")
        seen[defn.id] = defn.source
    if not definitions:
        raise RuleError(f"{folder}: no rule files (*.json)")
    return sorted(definitions, key=lambda d: d.id)


def _rule_dir(directory: str | Path | Traversable | None) -> Traversable:
    if directory is None:
        return resources.files("rhetoric").joinpath("lexicons")
    if isinstance(directory, (str, Path)):
        return Path(directory)
    return directory


# ---------------------------------------------------------------- weights


def weight_from_counts(fires: int, correct: int) -> float:
    """Sentence-level precision smoothed by Laplace's rule of succession,
    (correct + 1) / (fires + 2): 0.5 for a rule that never fired, close to the
    raw precision once it fired often, and never 0 or 1 from a handful of
    firings."""
    return (correct + 1) / (fires + 2)


def is_override(fires: int, correct: int) -> bool:
    """The override rule: raw precision >= 0.6 over >= 30 firings."""
    return fires >= OVERRIDE_MIN_FIRES and correct / fires >= OVERRIDE_MIN_PRECISION


def read_precision(directory: str | Path | Traversable | None = None) -> dict[str, dict[str, Any]]:
    """The per-rule measurements stored beside the rule files ({} when absent)."""
    entry = _rule_dir(directory).joinpath(PRECISION_FILE)
    if not entry.is_file():
        return {}
    data = json.loads(entry.read_text(encoding="utf-8"))
    rules: dict[str, dict[str, Any]] = data.get("rules", {})
    return rules


def make_rule(defn: RuleDefinition, measured: Mapping[str, Any] | None) -> Rule:
    """The public Rule: definition plus weight and override from measurement."""
    fires = int(measured["fires"]) if measured else 0
    correct = int(measured["correct"]) if measured else 0
    weight = weight_from_counts(fires, correct) if fires else UNMEASURED_WEIGHT
    return Rule(defn.id, defn.device, defn.kind, defn.description, weight,
                fires > 0 and is_override(fires, correct))


def fingerprint_of(definitions: Iterable[RuleDefinition]) -> str:
    """sha256 over what the rules match (ids, kinds, terms, patterns, params),
    not their weights or descriptions."""
    content = [d.matching_content() for d in sorted(definitions, key=lambda d: d.id)]
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- matching

# A lexicon target: (index of the rule, index of its all_of group or -1).
_Target = tuple[int, int]


class _TermIndex:
    """Terms of every rule. Single words are resolved once per distinct word
    (exact terms and prefix terms together) and remembered; multiword terms
    are looked up by their first two words. A sentence costs two set
    operations in C, then a dict lookup per word that starts a term."""

    def __init__(self) -> None:
        self.singles: dict[str, list[_Target]] = {}
        self.by_stem: dict[str, list[tuple[str, _Target]]] = {}
        self.by_pair: dict[tuple[str, str], list[tuple[tuple[str, ...], _Target]]] = {}
        self._entries: dict[str, tuple[_Target, ...]] = {}  # resolved single-word targets
        self._starts: set[str] = set()  # first words of multiword terms
        self._active: set[str] = set()  # words that start some term
        self._seen: set[str] = set()  # words already resolved

    def add(self, term: str, target: _Target) -> None:
        if term.endswith("*"):
            prefix = term_words(term[:-1])[0]
            self.by_stem.setdefault(prefix[:MIN_PREFIX], []).append((prefix, target))
        else:
            words = term_words(term)
            if len(words) == 1:
                self.singles.setdefault(words[0], []).append(target)
            else:
                self.by_pair.setdefault((words[0], words[1]), []).append((words[2:], target))
                self._starts.add(words[0])
        self._entries.clear()
        self._active = set(self._starts)
        self._seen.clear()

    def _resolve(self, words: Iterable[str]) -> dict[str, tuple[_Target, ...]]:
        """Single-word targets of words not seen before; remembered while
        fewer than RESOLVED_WORDS_LIMIT words are (past it, resolved each time)."""
        fresh = {}
        for word in words:
            targets = list(self.singles.get(word, ()))
            targets.extend(target for prefix, target in self.by_stem.get(word[:MIN_PREFIX], ())
                           if word.startswith(prefix))
            if targets:
                fresh[word] = tuple(targets)
        if len(self._seen) < RESOLVED_WORDS_LIMIT:
            self._entries.update(fresh)
            self._active.update(fresh)
            self._seen.update(words)
        return fresh

    def scan_document(self, text: str, sentences: Sequence[_Words], words: list[str],
                      ends: Sequence[int]) -> list[tuple[int, int, int, _Target]]:
        """(sentence, first token, last token + 1, target) for every term
        occurrence, in text order. `words` are all the sentences' words in a
        row; sentence k's are words[ends[k - 1]:ends[k]]. A term never spans
        two sentences, and the words of a multiword term must be separated by
        whitespace only, so "that is, that" is not "that is that"."""
        vocabulary = set(words)
        unseen = vocabulary - self._seen
        fresh = self._resolve(unseen) if unseen else {}
        active = vocabulary & self._active
        if fresh:
            active |= fresh.keys()
        found: list[tuple[int, int, int, _Target]] = []
        if not active:
            return found
        entries, starts, by_pair = self._entries, self._starts, self.by_pair
        for number, begin, end, p in _in_sentences(words, ends, active):
            word, i = words[p], p - begin
            for target in entries.get(word) or fresh.get(word, ()):
                found.append((number, i, i + 1, target))
            if p + 1 < end and word in starts:
                for rest, target in by_pair.get((word, words[p + 1]), ()):
                    j = p + 2 + len(rest)
                    if j <= end and (not rest or tuple(words[p + 2:j]) == rest) \
                            and _spaced(text, sentences[number].spans(), i, j - begin):
                        found.append((number, i, j - begin, target))
        return found


def _in_sentences(words: list[str], ends: Sequence[int],
                  wanted: AbstractSet[str]) -> Iterator[tuple[int, int, int, int]]:
    """(sentence, its first word, its end, position) of each word of `words`
    in `wanted`, in order; sentence k's words are words[ends[k - 1]:ends[k]].
    The positions are found in one comprehension: few words are wanted."""
    number, begin, end = 0, 0, ends[0]
    for p in [p for p, word in enumerate(words) if word in wanted]:
        while end <= p:  # the sentence that holds word p
            number += 1
            begin, end = end, ends[number]
        yield number, begin, end, p


def _spaced(text: str, spans: Sequence[tuple[int, int]], first: int, last: int) -> bool:
    """Whether words first..last-1 are separated by whitespace only."""
    return all(text[spans[k - 1][1]:spans[k][0]].isspace() for k in range(first + 1, last))


class RuleSet:
    """The compiled rules. Build with RuleSet.load(); match() is thread-safe."""

    rules: tuple[Rule, ...]
    fingerprint: str
    definitions: tuple[RuleDefinition, ...]

    def __init__(self, definitions: Sequence[RuleDefinition],
                 measured: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        measured = measured or {}
        self.definitions = tuple(sorted(definitions, key=lambda d: d.id))
        self.rules = tuple(make_rule(d, measured.get(d.id)) for d in self.definitions)
        self.fingerprint = fingerprint_of(self.definitions)
        self._by_id = {r.id: r for r in self.rules}
        self._terms = _TermIndex()
        self._word_triggers: dict[str, list[int]] = {}
        self._char_triggers: dict[str, list[int]] = {}
        self._regexes: dict[int, tuple[re.Pattern[str], ...]] = {}
        self._untriggered: list[int] = []  # regex rules run on every sentence
        self._trigger_words: frozenset[str] = frozenset()
        self._group_counts: dict[int, int] = {}
        self._document_rules: list[int] = []
        _check_references(self.definitions)
        for index, defn in enumerate(self.definitions):
            self._compile(index, defn)
        self._trigger_words = frozenset(self._word_triggers)

    def _compile(self, index: int, defn: RuleDefinition) -> None:
        for term in defn.terms:
            self._terms.add(term, (index, -1))
        for group_index, group in enumerate(defn.all_of):
            for term in group:
                self._terms.add(term, (index, group_index))
        if defn.all_of:
            self._group_counts[index] = len(defn.all_of)
        if defn.patterns:
            self._regexes[index] = tuple(re.compile(p) for p in defn.patterns)
            if not defn.triggers:
                self._untriggered.append(index)
            for trigger in defn.triggers:
                table = self._word_triggers if WORD_RE.fullmatch(trigger) else self._char_triggers
                table.setdefault(trigger, []).append(index)
        if defn.kind == "document":
            self._document_rules.append(index)

    @classmethod
    def load(cls, directory: str | Path | Traversable | None = None) -> RuleSet:
        """The rule set in `directory` (default: the built-in lexicons, compiled
        once and cached), with weights from its precision.json."""
        if directory is None:
            return _default_ruleset()
        return cls(read_definitions(directory), read_precision(directory))

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; KeyError naming it otherwise."""
        try:
            return self._by_id[rule_id]
        except KeyError:
            raise KeyError(f"unknown rule {rule_id!r}") from None

    def match(self, text: str, sentences: Sequence[tuple[int, int]]) -> list[list[Hit]]:
        """Hits per sentence (each list sorted), offsets into `text`."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        all_words = [_Words(text, start, end) for start, end in sentences]
        hits: list[list[Hit]] = [[] for _ in all_words]
        if not all_words:
            return hits
        # The lexicon and the triggers look at the document's words in one
        # row, not sentence by sentence: the per-sentence set operations and
        # calls were a third of the rule layer's time.
        words: list[str] = []
        ends: list[int] = []
        for sentence in all_words:
            words += sentence.words
            ends.append(len(words))
        self._lexicon_hits(text, all_words, words, ends, hits)
        self._pattern_hits(text, sentences, words, ends, hits)
        if self._document_rules:
            document = _Document(text, all_words, hits)
            for index in self._document_rules:
                for hit in self._document_hits(index, document):
                    hits[hit.sentence].append(hit)
        return [sorted(set(found), key=_HIT_ORDER) if len(found) > 1 else found for found in hits]

    def _lexicon_hits(self, text: str, sentences: Sequence[_Words], words: list[str], ends: Sequence[int],
                      hits: list[list[Hit]]) -> None:
        groups: dict[tuple[int, int], dict[int, tuple[int, int]]] = {}  # (sentence, rule) -> group -> span
        for number, first, last, (index, group) in self._terms.scan_document(text, sentences, words, ends):
            spans = sentences[number].spans()
            start, end = spans[first][0], spans[last - 1][1]
            if group < 0:
                defn = self.definitions[index]
                hits[number].append(Hit(number, start, end, defn.id, defn.device))
            else:  # the first occurrence of each group in the sentence
                groups.setdefault((number, index), {}).setdefault(group, (start, end))
        for (number, index), seen in groups.items():
            if len(seen) == self._group_counts[index]:
                defn = self.definitions[index]
                span_start = min(s for s, _ in seen.values())
                span_end = max(e for _, e in seen.values())
                hits[number].append(Hit(number, span_start, span_end, defn.id, defn.device))

    def _pattern_hits(self, text: str, sentences: Sequence[tuple[int, int]], words: list[str],
                      ends: Sequence[int], hits: list[list[Hit]]) -> None:
        triggered: dict[int, set[int]] = {}  # sentence -> the triggered rules
        for number, _, _, p in _in_sentences(words, ends, self._trigger_words):
            triggered.setdefault(number, set()).update(self._word_triggers[words[p]])
        for char, rules in self._char_triggers.items():
            if char in text:
                for number, (start, stop) in enumerate(sentences):
                    if text.find(char, start, stop) >= 0:
                        triggered.setdefault(number, set()).update(rules)
        untriggered = self._untriggered
        for number, (start, stop) in enumerate(sentences):
            these = triggered.get(number)
            if these is None and not untriggered:
                continue
            sentence = text[start:stop]
            for index in (untriggered if these is None else these.union(untriggered)):
                defn = self.definitions[index]
                for regex in self._regexes[index]:
                    for m in regex.finditer(sentence):
                        if m.end() > m.start():
                            hits[number].append(Hit(number, start + m.start(), start + m.end(),
                                                    defn.id, defn.device))

    def _document_hits(self, index: int, document: _Document) -> list[Hit]:
        defn = self.definitions[index]
        spans = DOCUMENT_METHOD_FUNCTIONS[defn.method](document, defn.params)
        return [Hit(number, s, e, defn.id, defn.device) for number, s, e in spans]


@dataclass(frozen=True)
class _Document:
    """What a document rule sees: the text, its tokens per sentence, and the
    sentence-level hits found so far."""

    text: str
    sentences: list[_Words]
    hits: list[list[Hit]]


# A document rule's output: (sentence index, start, end).
_Span = tuple[int, int, int]


def repeated_terms(document: _Document, params: Mapping[str, Any]) -> list[_Span]:
    """Every occurrence of a content n-gram (all words alphabetic, at least
    min_length letters, not stopwords) that occurs min_count times or more."""
    size: int = params["ngram"]
    min_count: int = params["min_count"]
    # Count every n-gram of the document at once (Counter runs in C over the
    # zipped slices) and judge only the frequent ones: most documents repeat no
    # content n-gram, so the per-word Python loop ran for nothing (7 us a sentence).
    words: list[str] = []
    for sentence in document.sentences:
        words += sentence.words
        words.append("")  # an n-gram across sentences holds "", never content
    counts = Counter(zip(*(words[k:] for k in range(size)), strict=False))
    stopwords = frozenset(params.get("stopwords", ()))
    min_length: int = params["min_length"]
    wanted = {gram for gram, count in counts.items() if count >= min_count
              and all(len(w) >= min_length and w.isalpha() and w not in stopwords for w in gram)}
    spans: list[_Span] = []
    if not wanted:
        return spans
    for number, sentence in enumerate(document.sentences):
        words = sentence.words
        for first, gram in enumerate(zip(*(words[k:] for k in range(size)), strict=False)):
            if gram in wanted:
                offsets = sentence.spans()
                spans.append((number, offsets[first][0], offsets[first + size - 1][1]))
    return spans


def repeated_hits(document: _Document, params: Mapping[str, Any]) -> list[_Span]:
    """Every hit of the listed rules whose matched words (normalised) recur
    min_count times or more in the document: a charged word hammered in."""
    wanted = frozenset(params["rules"])
    found: list[tuple[int, int, int, str]] = []
    for number, hits in enumerate(document.hits):
        for hit in hits:
            if hit.rule_id in wanted:
                found.append((number, hit.start, hit.end, normalise(document.text[hit.start:hit.end])))
    counts = Counter(f[3] for f in found)
    return sorted({(number, s, e) for number, s, e, key in found if counts[key] >= params["min_count"]})


def anaphora(document: _Document, params: Mapping[str, Any]) -> list[_Span]:
    """The opening words of consecutive sentences that start with the same
    `ngram` words (anaphora: "We will fight ... We will never ...")."""
    size: int = params["ngram"]
    spans: set[_Span] = set()
    sentences = document.sentences
    for number in range(1, len(sentences)):
        before, current = sentences[number - 1], sentences[number]
        if len(before.words) >= size and before.words[:size] == current.words[:size]:
            for index, sentence in ((number - 1, before), (number, current)):
                offsets = sentence.spans()
                spans.add((index, offsets[0][0], offsets[size - 1][1]))
    return sorted(spans)


DOCUMENT_METHOD_FUNCTIONS: dict[str, Callable[[_Document, Mapping[str, Any]], list[_Span]]] = {
    "repeated_terms": repeated_terms,
    "repeated_hits": repeated_hits,
    "anaphora": anaphora,
}


@functools.lru_cache(maxsize=1)
def _default_ruleset() -> RuleSet:
    return RuleSet(read_definitions(None), read_precision(None))


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class LabelledSentences:
    """A text with sentences and their gold labels, for measuring rules.

    `known[i]` are the devices sentence i was labelled for: a rule of another
    device is neither right nor wrong there (PTC knows nothing of
    appeal_to_history; the project's sample knows only its two devices)."""

    text: str
    sentences: Sequence[tuple[int, int]]
    positive: Sequence[AbstractSet[str]]  # devices each sentence carries
    known: Sequence[AbstractSet[str]]  # devices each sentence is labelled for


@dataclass(frozen=True)
class RuleStats:
    fires: int  # labelled sentences in which the rule hit at least once
    correct: int  # of those, sentences that carry the rule's device

    @property
    def precision(self) -> float:
        return self.correct / self.fires if self.fires else 0.0


@dataclass(frozen=True)
class DeviceStats:
    labelled: int  # sentences labelled for the device
    carrying: int  # of those, sentences that carry it
    fired: int  # labelled sentences where any rule of the device hit
    caught: int  # carrying sentences where any rule of the device hit

    @property
    def base_rate(self) -> float:
        return self.carrying / self.labelled if self.labelled else 0.0

    @property
    def recall(self) -> float:
        return self.caught / self.carrying if self.carrying else 0.0

    @property
    def precision(self) -> float:
        return self.caught / self.fired if self.fired else 0.0


def measure(ruleset: RuleSet, docs: Iterable[LabelledSentences],
            ) -> tuple[dict[str, RuleStats], dict[str, DeviceStats]]:
    """Per rule: sentence-level firings and correct firings; per device: base
    rate and the precision/recall of all its rules together. A sentence counts
    for a rule only when it is labelled for the rule's device."""
    fires: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    device_counts: dict[str, Counter[str]] = {k: Counter() for k in
                                              ("labelled", "carrying", "fired", "caught")}
    for doc in docs:
        matched = ruleset.match(doc.text, doc.sentences)
        for hits, positive, known in zip(matched, doc.positive, doc.known, strict=True):
            device_counts["labelled"].update(known)
            device_counts["carrying"].update(set(positive) & set(known))
            fired_devices = {h.device for h in hits} & set(known)
            device_counts["fired"].update(fired_devices)
            device_counts["caught"].update(fired_devices & set(positive))
            for rule_id, device in {(h.rule_id, h.device) for h in hits}:
                if device in known:
                    fires[rule_id] += 1
                    correct[rule_id] += device in positive
    rules = {r.id: RuleStats(fires[r.id], correct[r.id]) for r in ruleset.rules}
    devices = {d: DeviceStats(*(device_counts[k][d] for k in ("labelled", "carrying", "fired", "caught")))
               for d in device_counts["labelled"]}
    return rules, devices


def measure_precision(ruleset: RuleSet, docs: Iterable[LabelledSentences]) -> dict[str, RuleStats]:
    """Sentence-level firings and precision of every rule (rules that never
    met a sentence labelled for their device get fires == 0)."""
    return measure(ruleset, docs)[0]
