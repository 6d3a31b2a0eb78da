"""The Tagger: sentences -> rule hits -> features -> model probabilities ->
combine -> tags. `combine()` is the one place that decides whether a device
fires in a sentence, and with what span, score and source.
"""
from __future__ import annotations

import contextlib
import gc
import operator
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rhetoric.model import Model, ModelError, default_model_dir
from rhetoric.rules import Hit, RuleSet

SOURCES = ("model", "rule", "rule+model")
# How many top model features a tag's evidence lists: enough to explain, few
# enough to read at a glance.
TOP_FEATURES = 3
# Sentences per predict_proba call; large enough to amortise the sparse
# matrix-product overhead, small enough to keep memory flat when streaming.
DEFAULT_BATCH_SIZE = 256


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a tag fired: the rule hits inside its span, and the model features
    that pushed the device's probability up most in its sentence."""

    hits: tuple[Hit, ...] = ()
    features: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"rules": [{"rule": h.rule_id, "start": h.start, "end": h.end} for h in self.hits],
                "features": [{"feature": n, "weight": w} for n, w in self.features]}


@dataclass(frozen=True, slots=True)
class Tag:
    device: str
    start: int
    end: int
    text: str
    score: float   # probability that the device occurs in the sentence
    source: str    # "model", "rule" or "rule+model"
    sentence: int  # index into Result.sentences
    evidence: Evidence = field(default_factory=Evidence)

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "start": self.start, "end": self.end, "text": self.text,
                "score": round(self.score, 4), "source": self.source, "sentence": self.sentence,
                "evidence": self.evidence.to_dict()}


@dataclass(frozen=True, slots=True)
class AnyTechnique:
    """Whether a sentence is judged to use any technique at all, and how likely.

    With a model this is its dedicated 'any technique' column, trained for
    that question alone (+0.04 any-technique F1 over the union of the devices
    in grouped CV, docs/ablation.md), against that column's threshold. It is
    its own decision: a sentence may carry tags and be judged False here, or
    the reverse. Without a model it is whether any tag fired in the sentence,
    scored by its best tag."""

    fires: bool
    score: float  # the model's probability that the sentence uses some technique

    def to_dict(self) -> dict[str, Any]:
        return {"fires": self.fires, "score": round(self.score, 4)}


@dataclass(frozen=True, slots=True)
class Result:
    text: str
    sentences: tuple[tuple[int, int], ...] = ()
    tags: tuple[Tag, ...] = ()
    error: str | None = None  # set instead of tags when tag_many(on_error="skip") met bad input
    # one per sentence, in the order of `sentences`
    any_technique: tuple[AnyTechnique, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sentences": [list(s) for s in self.sentences],
                               "tags": [t.to_dict() for t in self.tags],
                               "any_technique": [a.to_dict() for a in self.any_technique]}
        if self.error is not None:
            out["error"] = self.error
        return out

    def devices(self) -> list[str]:
        """The devices found, in catalogue order of first appearance."""
        return list(dict.fromkeys(t.device for t in self.tags))


def check_text(text: object) -> str:
    """The one place that rejects input that is not text."""
    if not isinstance(text, str):
        raise TypeError(f"rhetoric tags str, got {type(text).__name__}: {str(text)[:40]!r}")
    return text


class Tagger:
    def __init__(self, model: Model | None, rules: RuleSet, threshold: float | None = None) -> None:
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        self.model = model
        self.rules = rules
        self.threshold = threshold
        self._rule_by_id = {r.id: r for r in rules.rules}

    @classmethod
    def load(cls, path: str | Path | None = None, *, threshold: float | None = None,
             rules_only: bool = False) -> Tagger:
        """The shipped model (or the model saved in `path`) with the built-in rules.
        With `rules_only`, or when no model is shipped, the rules decide alone."""
        from rhetoric import __version__
        from rhetoric.text import splitter_fingerprint

        rules = RuleSet.load()
        if rules_only:
            return cls(None, rules, threshold)
        folder = Path(path) if path is not None else default_model_dir()
        if path is None and not (folder / "manifest.json").is_file():
            return cls(None, rules, threshold)
        expect = {"library_version": _minor(__version__), "rules_fingerprint": rules.fingerprint,
                  "splitter_fingerprint": splitter_fingerprint()}
        return cls(Model.load(folder, expect=expect), rules, threshold)

    # -- tagging ---------------------------------------------------------------

    def tag(self, text: str) -> Result:
        return self._tag_batch([check_text(text)])[0]

    def tag_many(self, texts: Iterable[Any], batch_size: int = DEFAULT_BATCH_SIZE, n_jobs: int = 1,
                 as_tuples: bool = False, on_error: str = "raise") -> Iterator[Any]:
        """Tag a stream of texts lazily, in input order, one predict_proba per
        batch. With `as_tuples`, items are (text, context) and come back as
        (Result, context). `on_error="skip"` turns a bad item into a Result whose
        `error` says what went wrong, so output stays aligned with input.
        `n_jobs` > 1 tags batches in worker processes that load the model once;
        at most `IN_FLIGHT_PER_WORKER * n_jobs` batches are out at a time, so
        memory stays flat however long the stream, and closing the generator
        (or Ctrl-C) stops the workers."""
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if batch_size < 1 or n_jobs < 1:
            raise ValueError("batch_size and n_jobs must be at least 1")
        chunks = batches(texts, batch_size, operator.itemgetter(0) if as_tuples else _itself)
        tagged: Iterator[list[Any]]
        if n_jobs == 1:
            tagged = (_join(self._tag_checked(_texts_of(b, as_tuples), on_error), b, as_tuples) for b in chunks)
        else:
            tagged = self._tag_in_workers(chunks, n_jobs, as_tuples, on_error)
        for results in tagged:
            yield from results

    def _tag_in_workers(self, batches: Iterator[list[Any]], n_jobs: int, as_tuples: bool,
                        on_error: str) -> Iterator[list[Any]]:
        """Batches tagged in worker processes. Only checked `str` texts travel to
        the workers (contexts stay here); results come back compact."""
        def payloads() -> Iterator[tuple[list[str], tuple[list[Any], list[Any], dict[int, str]]]]:
            for batch in batches:
                texts = _texts_of(batch, as_tuples)
                good, errors = _check_all(texts, on_error)
                yield good, (batch, texts, errors)

        for (batch, texts, errors), compacts in map_in_workers(self, _tag_compact, payloads(), n_jobs):
            good = [t for i, t in enumerate(texts) if i not in errors]
            rebuilt = iter(_result_from_compact(text, c) for text, c in zip(good, compacts, strict=True))
            results = [_error_result(texts[i], errors[i]) if i in errors else next(rebuilt)
                       for i in range(len(texts))]
            yield _join(results, batch, as_tuples)

    def _tag_checked(self, texts: list[Any], on_error: str) -> list[Result]:
        """Tag a batch; bad items raise, or become error Results with on_error='skip'."""
        good, errors = _check_all(texts, on_error)
        tagged = iter(self._tag_batch(good))
        return [_error_result(text, errors[i]) if i in errors else next(tagged) for i, text in enumerate(texts)]

    def tag_sentences(self, docs: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> list[Result]:
        """Tag documents whose sentence spans are already known (e.g. a corpus's
        own sentence units), as one batch."""
        return self._tag_batch([check_text(t) for t, _ in docs], [list(s) for _, s in docs])

    def _tag_batch(self, texts: Sequence[str],
                   sentences: Sequence[list[tuple[int, int]]] | None = None) -> list[Result]:
        with _collector_paused():
            return self._tag_batch_now(texts, sentences)

    def _tag_batch_now(self, texts: Sequence[str],
                       sentences: Sequence[list[tuple[int, int]]] | None) -> list[Result]:
        from rhetoric.features import DocumentInput
        from rhetoric.text import split_sentences

        docs = []
        for k, text in enumerate(texts):
            spans = split_sentences(text) if sentences is None else sentences[k]
            docs.append(DocumentInput(text, spans, self.rules.match(text, spans)))
        X = proba = None
        if self.model is not None and any(d.sentences for d in docs):
            X = self.model.features.transform(docs)
            proba = self.model.predict_proba(X, docs)
            X = self.model.explainable(X)  # all that combine reads
        decisions, first_rows, row = [], [], 0
        for doc in docs:
            n = len(doc.sentences)
            decisions.append(self._decide(doc, None if proba is None else proba[row:row + n], X is not None))
            first_rows.append(row)
            row += n
        evidence = self._evidence(first_rows, decisions, X)
        results = []
        for doc, decided, features, row in zip(docs, decisions, evidence, first_rows, strict=True):
            tags = self._tags(doc, decided, features)
            rows = None if proba is None else proba[row:row + len(doc.sentences)]
            judged = self.any_technique(len(doc.sentences), tags, rows)
            results.append(Result(doc.text, tuple(doc.sentences), tuple(tags), any_technique=judged))
        return results

    def thresholds(self) -> dict[str, float]:
        """The probability at which each model device fires."""
        if self.model is None:
            return {}
        if self.threshold is not None:
            return {d: self.threshold for d in self.model.devices}
        # thresholds has one more entry, for 'any technique': not a device of its own here
        return {d: float(t) for d, t in zip(self.model.devices, self.model.thresholds, strict=False)}

    def any_threshold(self) -> float | None:
        """The probability at which the model judges a sentence to use any technique."""
        if self.model is None:
            return None
        return self.threshold if self.threshold is not None else float(self.model.thresholds[self.model.any_index])

    def any_technique(self, n_sentences: int, tags: Sequence[Tag],
                      proba: np.ndarray | None) -> tuple[AnyTechnique, ...]:
        """Per sentence, the 'any technique' decision (see AnyTechnique)."""
        threshold = self.any_threshold()
        if proba is None or self.model is None or threshold is None:
            best = [0.0] * n_sentences
            fired = [False] * n_sentences
            for t in tags:
                fired[t.sentence] = True
                best[t.sentence] = max(best[t.sentence], t.score)
            return tuple(AnyTechnique(f, b) for f, b in zip(fired, best, strict=True))
        # Python floats: per-element numpy scalars cost more than the objects
        return tuple(AnyTechnique(q >= threshold, q) for q in proba[:, self.model.any_index].tolist())

    def combine(self, doc: Any, proba: np.ndarray | None, X: Any, first_row: int = 0) -> list[Tag]:
        """Decide, per sentence and device: the device fires when the model's
        probability reaches the device's threshold, or when an override rule
        (one whose measured precision is high) matched; with no model for a
        device, every rule hit fires when its precision reaches the threshold.
        A tag's span is the rule hit, or the whole sentence when no rule located
        it; its score is the probability the device occurs in the sentence.
        `proba` has the document's rows; its sentence i is row first_row + i of
        X = Model.explainable(features) (X may hold the whole batch: slicing it
        per document is costly). A batch runs the same three steps with one
        evidence call for all its documents."""
        decided = self._decide(doc, proba, X is not None)
        return self._tags(doc, decided, self._evidence([first_row], [decided], X)[0])

    def _decide(self, doc: Any, proba: np.ndarray | None, explained: bool) -> list[_Decision]:
        """What fires in a document (see `combine`)."""
        model_devices = self.model.devices if self.model is not None else []
        column = {d: j for j, d in enumerate(model_devices)}
        thresholds = self.thresholds()
        rule_floor = self.threshold or 0.0
        fires: list[list[int]] = [[] for _ in doc.sentences]
        if proba is not None and model_devices:
            cut = np.array([thresholds[d] for d in model_devices])
            for i, j in zip(*np.nonzero(proba[:, :len(model_devices)] >= cut), strict=True):
                fires[i].append(int(j))
        decided: list[_Decision] = []
        for i in range(len(doc.sentences)):
            if not doc.hits[i] and not fires[i]:
                continue
            hits_by_device: dict[str, list[Hit]] = {}
            for hit in doc.hits[i]:
                hits_by_device.setdefault(hit.device, []).append(hit)
            candidates = dict.fromkeys(list(hits_by_device) + [model_devices[j] for j in fires[i]])
            for device in candidates:
                hits = hits_by_device.get(device, [])
                j = column.get(device)
                p = float(proba[i, j]) if proba is not None and j is not None else None
                model_fires = p is not None and p >= thresholds[device]
                if p is None:  # no model for this device: the rules decide alone
                    firing = [h for h in hits if self._rule_by_id[h.rule_id].weight >= rule_floor]
                else:
                    firing = [h for h in hits if self._rule_by_id[h.rule_id].override]
                if not model_fires and not firing:
                    continue
                rule_score = max((self._rule_by_id[h.rule_id].weight for h in firing), default=0.0)
                score = p if model_fires and p is not None else max(p or 0.0, rule_score)
                source = ("rule+model" if hits else "model") if model_fires else "rule"
                decided.append(_Decision(device, i, score, source, hits if model_fires else firing,
                                         j if p is not None and explained else None))
        return decided

    def _evidence(self, first_rows: Sequence[int], decisions: Sequence[list[_Decision]],
                  X: Any) -> list[Iterator[list[tuple[str, float]]]]:
        """Per document, the model's top features of each decision that has a
        model column, in order: one Model.top_features_many call for all."""
        rows = [first + d.sentence for first, decided in zip(first_rows, decisions, strict=True)
                for d in decided if d.column is not None]
        columns = [d.column for decided in decisions for d in decided if d.column is not None]
        found = iter(self.model.top_features_many(X, rows, columns, TOP_FEATURES)
                     if rows and self.model is not None else [])
        return [iter([next(found) for d in decided if d.column is not None]) for decided in decisions]

    @staticmethod
    def _tags(doc: Any, decided: list[_Decision], features: Iterator[list[tuple[str, float]]]) -> list[Tag]:
        tags: list[Tag] = []
        for d in decided:
            evidence = tuple(next(features)) if d.column is not None else ()
            start, end = doc.sentences[d.sentence]
            for span_start, span_end, span_hits in _merge_spans(d.located) or [(start, end, [])]:
                tags.append(Tag(d.device, span_start, span_end, doc.text[span_start:span_end],
                                d.score, d.source, d.sentence, Evidence(tuple(span_hits), evidence)))
        tags.sort(key=lambda t: (t.start, t.end, t.device))
        return tags


class _Decision(NamedTuple):
    """A device that fires in a sentence: its score, source, the hits that
    locate it, and its model column when the model's evidence is wanted."""

    device: str
    sentence: int
    score: float
    source: str
    located: list[Hit]
    column: int | None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while one batch is tagged, as it was before
    afterwards. A batch makes ~100,000 short-lived objects without cycles
    (hits, tags, word lists), freed as soon as they go; each burst of
    allocations started a collection that walked the loaded model's
    vocabularies and caches too: 7% of tagging time (tag_many on 6 MB of PTC
    text, 9,373-9,629 against 10,134-10,189 sentences per CPU-second, twice
    each). A cycle made meanwhile is collected once the collector is back."""
    if not gc.isenabled():  # the caller's choice: leave it so
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _merge_spans(hits: Sequence[Hit]) -> list[tuple[int, int, list[Hit]]]:
    """Overlapping hits of one device become one span listing all of them."""
    spans: list[tuple[int, int, list[Hit]]] = []
    for hit in sorted(hits, key=lambda h: (h.start, h.end)):
        if spans and hit.start < spans[-1][1]:
            s, e, hs = spans[-1]
            hs.append(hit)  # in place: `hs + [hit]` copied the list each time, quadratic in the hits
            spans[-1] = (s, max(e, hit.end), hs)
        else:
            spans.append((hit.start, hit.end, [hit]))
    return spans


def _minor(version: str) -> str:
    """Models are compatible within a minor release line (0.1.x)."""
    return ".".join(version.split(".")[:2])


# -- batches and worker processes ----------------------------------------------
# Workers receive the tagger once (initializer; with the default fork start
# method it is inherited, not even pickled) and send back plain tuples:
# cheaper to pickle than Result objects, and the parent has the texts anyway.

# Batches out per worker: one being tagged and one queued, so a worker never
# waits for the parent; more would only hold more text in memory.
IN_FLIGHT_PER_WORKER = 2

_WORKER_TAGGER: Tagger | None = None


# Characters of text per batch, at most (a longer text is a batch of its own):
# batch_size counts texts, and 256 news articles are ~11,000 sentences, whose
# predict_proba peaked 250 MB above the loaded model (tracemalloc, PTC
# articles, stage-2 context features); 500,000 characters (~4,000 sentences)
# keeps a tagging process under 400 MB however long its documents.
MAX_BATCH_CHARS = 500_000


def batches(items: Iterable[Any], batch_size: int, text_of: Callable[[Any], Any]) -> Iterator[list[Any]]:
    """Lists of up to `batch_size` items and (but for a single long text) up
    to MAX_BATCH_CHARS characters of text; `text_of(item)` is the item's text
    (anything not a str counts as empty). tag_many and the CLI batch alike."""
    batch: list[Any] = []
    chars = 0
    for item in items:
        text = text_of(item)
        size = len(text) if isinstance(text, str) else 0
        if batch and chars + size > MAX_BATCH_CHARS:
            yield batch
            batch, chars = [], 0
        batch.append(item)
        chars += size
        if len(batch) == batch_size:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _itself(item: Any) -> Any:
    return item


def _texts_of(batch: list[Any], as_tuples: bool) -> list[Any]:
    return [item[0] for item in batch] if as_tuples else batch


def _join(results: list[Result], batch: list[Any], as_tuples: bool) -> list[Any]:
    return [(result, item[1]) for result, item in zip(results, batch, strict=True)] if as_tuples else results


def _check_all(texts: list[Any], on_error: str) -> tuple[list[str], dict[int, str]]:
    """The texts that are `str`, and the reason each other item was refused
    (keyed by position); with on_error='raise' the first refusal raises."""
    good: list[str] = []
    errors: dict[int, str] = {}
    for i, text in enumerate(texts):
        try:
            good.append(check_text(text))
        except TypeError as err:
            if on_error == "raise":
                raise
            errors[i] = str(err)
    return good, errors


def _error_result(text: Any, error: str) -> Result:
    return Result(text if isinstance(text, str) else "", error=error)


def map_in_workers(tagger: Tagger, work: Callable[[Tagger, Any], Any], jobs: Iterable[tuple[Any, Any]],
                   n_jobs: int) -> Iterator[tuple[Any, Any]]:
    """For each `(payload, keep)` of `jobs`, in order, yield `(keep, work(tagger,
    payload))`, computed in `n_jobs` worker processes (in this process when
    n_jobs is 1). `work` must be a module-level function (it is pickled);
    `keep` never leaves this process. Lazy and bounded: a job is read only when
    a worker has room for it. Closing the generator, an exception or Ctrl-C
    terminates the workers at once; a normal end lets them exit."""
    if n_jobs == 1:
        for payload, keep in jobs:
            yield keep, work(tagger, payload)
        return
    pool = ProcessPoolExecutor(n_jobs, initializer=_init_worker, initargs=(tagger,))
    pending: deque[tuple[Future[Any], Any]] = deque()
    finished = False
    try:
        for payload, keep in jobs:
            with _DeferredInterrupt():
                pending.append((pool.submit(_run_in_worker, work, payload), keep))
            if len(pending) >= IN_FLIGHT_PER_WORKER * n_jobs:
                future, kept = pending.popleft()
                yield kept, _result(future)
        while pending:
            future, kept = pending.popleft()
            yield kept, _result(future)
        finished = True
    finally:
        with _DeferredInterrupt():
            _stop_pool(pool, graceful=finished)


# Seconds a wait for a batch sleeps before checking for Ctrl-C: answered
# within a tenth of a second, and ten wake-ups a second cost nothing.
WAIT_SLICE = 0.1


class _DeferredInterrupt:
    """Within `with`, Ctrl-C only sets a flag, and KeyboardInterrupt is raised
    on leaving (unless an exception is on its way already). A KeyboardInterrupt
    raised inside the executor's locks (Future.result, submit) can leave a lock
    held, and shutdown then hangs for ever: CPython 3.11, reproduced here.
    Only the main thread receives signals; elsewhere this does nothing."""

    def __enter__(self) -> _DeferredInterrupt:
        self.hit = False
        self.previous: Any = None
        in_main = threading.current_thread() is threading.main_thread()
        if in_main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._flag)
        return self

    def _flag(self, signum: int, frame: Any) -> None:
        self.hit = True

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        if self.hit and exc_type is None:
            raise KeyboardInterrupt


def _result(future: Future[Any]) -> Any:
    """future.result(), interruptible by Ctrl-C at a point that holds no lock."""
    with _DeferredInterrupt() as interrupt:
        while True:
            try:
                return future.result(timeout=WAIT_SLICE)
            except FutureTimeout:
                if interrupt.hit:
                    raise KeyboardInterrupt from None


def _stop_pool(pool: ProcessPoolExecutor, graceful: bool) -> None:
    """Let idle workers exit, or (after an error, Ctrl-C or generator close)
    terminate them without waiting for the batches they are tagging."""
    if not graceful:
        # ProcessPoolExecutor has no public terminate before Python 3.14
        # (terminate_workers); its `_processes` map is the documented-by-use way.
        terminate = getattr(pool, "terminate_workers", None)
        if terminate is not None:
            terminate()
        else:
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
    pool.shutdown(wait=True, cancel_futures=not graceful)


def _init_worker(tagger: Tagger) -> None:
    global _WORKER_TAGGER
    # Ctrl-C reaches the whole process group: the parent handles it and
    # terminates the workers, so they must not die first with a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _WORKER_TAGGER = tagger


# Seconds between a worker's checks that its parent is alive: an orphan (the
# parent was SIGKILLed and cannot stop it) exits within a second, at no cost.
PARENT_CHECK_INTERVAL = 1.0


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_INTERVAL)
    os._exit(1)


def _run_in_worker(work: Callable[[Tagger, Any], Any], payload: Any) -> Any:
    assert _WORKER_TAGGER is not None, "worker started without a tagger"
    return work(_WORKER_TAGGER, payload)


def _tag_compact(tagger: Tagger, texts: list[str]) -> list[tuple[Any, ...]]:
    return [_compact(r) for r in tagger._tag_batch(texts)]


def _compact(result: Result) -> tuple[Any, ...]:
    tags = tuple((t.device, t.start, t.end, t.score, t.source, t.sentence,
                  tuple((h.sentence, h.start, h.end, h.rule_id, h.device) for h in t.evidence.hits),
                  t.evidence.features) for t in result.tags)
    judged = tuple((a.fires, a.score) for a in result.any_technique)
    return result.sentences, tags, judged


def _result_from_compact(text: str, compact: tuple[Any, ...]) -> Result:
    sentences, tags, judged = compact
    return Result(text, sentences, tuple(
        Tag(device, start, end, text[start:end], score, source, sentence,
            Evidence(tuple(Hit(*h) for h in hits), features))
        for device, start, end, score, source, sentence, hits, features in tags),
        any_technique=tuple(AnyTechnique(fires, score) for fires, score in judged))


__all__ = ["AnyTechnique", "Evidence", "ModelError", "Result", "Tag", "Tagger", "check_text", "map_in_workers"]
