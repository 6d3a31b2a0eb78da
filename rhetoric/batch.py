"""Batch tagging: whole corpora for `rhetoric tag`, and pandas data frames.

`tag_corpus` streams input records through `Tagger` in batches (in worker
processes with `jobs` > 1; workers format the output themselves and send back
strings), writes the output in input order, shows a progress bar, routes
error records, and can resume a run that was killed:

- Every input record yields one output record or one error record: in the
  output (a JSON line or CSV row with an `error` field) or, with `errors`,
  a JSON line `{"id", "error"}` in that file. TSV (the PTC format) has no
  place for errors: they go to stderr unless `errors` names a file.
- Output is written batch by batch, in input order, each piece with one
  unbuffered write, so what a SIGKILL leaves on disk is a prefix of the
  complete output (plus, at worst, a partial last line).
- Resume, JSONL: a JSON line is one record, so the records done are the
  complete lines of the output (plus those of the errors file); a trailing
  partial line is dropped, that many input records skipped, the rest
  appended. CSV/TSV rows are tags, not records (a record without tags writes
  nothing), so those formats keep `OUT.progress` beside the output: records
  done and the byte sizes of the output and errors files at that point,
  updated after every batch and removed when the run completes; resume cuts
  the files back to those sizes.
"""
from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import operator
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rhetoric.corpus import Record, estimate_records, iter_records
from rhetoric.devices import get_device
from rhetoric.tagger import batches

if TYPE_CHECKING:
    import pandas as pd

    from rhetoric.tagger import Result, Tagger

FORMATS = ("jsonl", "csv", "tsv")
CSV_COLUMNS = ("id", "device", "start", "end", "score", "source", "sentence", "text", "error")
# Where a piece of formatted output goes.
OUTPUT, ERRORS = 0, 1
# The key of the error field as json.dumps writes it into an output line: a
# string value cannot contain it unescaped, so it marks error lines.
_ERROR_KEY = b'"error": "'
PROGRESS_SUFFIX = ".progress"
# Seconds between progress-bar redraws: smooth to the eye, and negligible work.
PROGRESS_INTERVAL = 0.2


@dataclass(frozen=True)
class CorpusJob:
    """What `rhetoric tag` was asked to do (see `rhetoric tag --help`)."""

    paths: Sequence[str]
    output: str | None = None          # None: stdout
    fmt: str = "jsonl"
    text_field: str = "text"
    id_field: str | None = None
    encoding: str = "utf-8"
    jobs: int = 1
    batch_size: int = 256              # the Tagger's default batch (tagger.DEFAULT_BATCH_SIZE)
    errors: str | None = None          # None: error records go into the output
    resume: bool = False
    progress: bool = False


@dataclass
class Counts:
    records: int = 0
    failed: int = 0
    sentences: int = 0
    done_before: int = 0    # records a resumed run found already written
    failed_before: int = 0
    seconds: float = 0.0

    @property
    def tagged(self) -> int:
        return self.records - self.failed

    def summary(self) -> str:
        line = (f"rhetoric: {self.records:,} records in, {self.tagged:,} tagged, {self.failed:,} failed, "
                f"{self.sentences:,} sentences, {self.seconds:.2f} s")
        if self.done_before:
            line += f" (resumed after {self.done_before:,} records, {self.failed_before:,} of them failed)"
        return line


# -- the run ----------------------------------------------------------------------

def tag_corpus(tagger: Tagger, job: CorpusJob) -> Counts:
    """Tag every record of `job.paths` into `job.output`; see the module doc."""
    from rhetoric.tagger import map_in_workers

    _check_job(job)
    started = time.perf_counter()
    counts = Counts()
    checkpoint = _Checkpoint.for_job(job)
    if job.resume:
        counts.done_before, counts.failed_before = checkpoint.restore()
    records = itertools.islice(iter_records(job.paths, job.text_field, job.id_field, job.encoding),
                               counts.done_before, None)
    progress = _Progress(sys.stderr, counts.done_before, job.paths) if job.progress else None
    work = functools.partial(format_batch, fmt=job.fmt, errors_apart=job.errors is not None)
    sinks = _open_sinks(job, append=job.resume)
    try:
        if job.fmt == "csv" and sinks[OUTPUT].written == 0:
            sinks[OUTPUT].write(_csv_text([CSV_COLUMNS]))
        checkpoint.save(counts, sinks)
        jobs = ((batch, len(batch)) for batch in _batches(records, job.batch_size))
        for n_records, (pieces, failed, sentences) in map_in_workers(tagger, work, jobs, job.jobs):
            if progress is not None and any(stream == ERRORS for stream, _ in pieces):
                progress.clear()
            for stream, text in pieces:
                sinks[stream].write(text)
            counts.records += n_records
            counts.failed += failed
            counts.sentences += sentences
            checkpoint.save(counts, sinks)
            if progress is not None:
                progress.update(counts.records, counts.sentences)
    finally:
        if progress is not None:
            progress.clear()
        for sink in sinks.values():
            sink.close()
    checkpoint.finish()
    counts.seconds = time.perf_counter() - started
    return counts


def _check_job(job: CorpusJob) -> None:
    if job.fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {job.fmt!r}")
    if job.resume and not job.output:
        raise ValueError("--resume continues an output file: name it with -o FILE")
    if job.jobs < 1 or job.batch_size < 1:
        raise ValueError("--jobs and --batch-size must be at least 1")
    if job.errors and job.output and Path(job.errors).resolve() == Path(job.output).resolve():
        raise ValueError("--errors must name another file than -o")


def _batches(records: Iterable[Record], size: int) -> Iterator[list[tuple[str, str | None, str | None]]]:
    """Batches as tag_many makes them, of plain tuples: cheap to send to a
    worker process."""
    return batches(((r.id, r.text, r.error) for r in records), size, operator.itemgetter(1))


# -- formatting (runs in the worker processes) -------------------------------------

def format_batch(tagger: Tagger, records: list[tuple[str, str | None, str | None]], fmt: str,
                 errors_apart: bool) -> tuple[list[tuple[int, str]], int, int]:
    """Tag a batch of (id, text, read error) records and format it: the
    pieces to write, in record order, each `(OUTPUT or ERRORS, text)`, and
    the numbers of failed records and of sentences."""
    texts = [text for _, text, error in records if error is None]
    results = iter(tagger.tag_many(texts, batch_size=max(len(texts), 1), on_error="skip"))
    parts: list[tuple[int, str]] = []
    failed = sentences = 0
    for doc_id, _, read_error in records:
        error = read_error
        if error is None:
            result = next(results)
            sentences += len(result.sentences)
            error = result.error
        if error is not None:
            failed += 1
            parts.append(format_error(doc_id, error, fmt, errors_apart))
        else:
            parts.append((OUTPUT, format_result(doc_id, result, fmt)))
    return _pieces(parts), failed, sentences


def _pieces(parts: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Adjacent parts for the same stream joined into one piece (one write)."""
    return [(stream, "".join(text for _, text in run))
            for stream, run in itertools.groupby(parts, key=lambda part: part[0])]


def format_result(doc_id: str, result: Result, fmt: str) -> str:
    """One tagged record in the output format."""
    if fmt == "jsonl":
        return json.dumps({"id": doc_id, **result.to_dict()}, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv_text([doc_id, t.device, t.start, t.end, f"{t.score:.4f}", t.source, t.sentence, t.text, ""]
                         for t in result.tags)
    return "".join(f"{doc_id}\t{get_device(t.device).ptc_alias or t.device}\t{t.start}\t{t.end}\n"
                   for t in result.tags)


def format_error(doc_id: str, error: str, fmt: str, errors_apart: bool) -> tuple[int, str]:
    """Where one error record goes, and its text there."""
    if errors_apart:
        return ERRORS, json.dumps({"id": doc_id, "error": error}, ensure_ascii=False) + "\n"
    if fmt == "jsonl":
        return OUTPUT, json.dumps({"id": doc_id, "sentences": [], "tags": [], "any_technique": [], "error": error},
                                  ensure_ascii=False) + "\n"
    if fmt == "csv":
        return OUTPUT, _csv_text([[doc_id, "", "", "", "", "", "", "", error]])
    return ERRORS, f"rhetoric: {error}\n"  # tsv: stderr


def _csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


# -- output files -------------------------------------------------------------------

class _Sink:
    """An output stream that counts the bytes it wrote. Files are written
    unbuffered (one write per piece), so a kill leaves whole pieces."""

    def __init__(self, path: str | None, append: bool, fallback: IO[str]) -> None:
        self.path = path
        self.file = open(path, "ab" if append else "wb", buffering=0) if path else None  # noqa: SIM115
        self.fallback = fallback
        self.written = os.fstat(self.file.fileno()).st_size if self.file else 0

    def write(self, text: str) -> None:
        if self.file is None:
            self.fallback.write(text)
            return
        encoded = text.encode("utf-8")
        data = memoryview(encoded)
        while data:  # a raw write may take fewer bytes than offered
            data = data[self.file.write(data):]
        self.written += len(encoded)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        else:
            self.fallback.flush()


def _open_sinks(job: CorpusJob, append: bool) -> dict[int, _Sink]:
    # Only TSV sends error records to the ERRORS stream without an errors file.
    return {OUTPUT: _Sink(job.output, append, sys.stdout), ERRORS: _Sink(job.errors, append, sys.stderr)}


# -- resume -------------------------------------------------------------------------

@dataclass
class _Checkpoint:
    """How far a run got (see the module doc): JSONL reads it from the files
    themselves; CSV/TSV keep it in OUT.progress."""

    job: CorpusJob
    path: Path | None = None  # the progress file, for CSV/TSV written to a file
    _last: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_job(cls, job: CorpusJob) -> _Checkpoint:
        keeps_file = job.output is not None and job.fmt != "jsonl"
        return cls(job, Path(job.output + PROGRESS_SUFFIX) if keeps_file and job.output else None)

    def restore(self) -> tuple[int, int]:
        """Cut the output back to its last complete record; (records done, of
        which failed)."""
        if self.path is None:
            return _restore_jsonl(self.job.output, self.job.errors)
        if not self.path.exists():
            if Path(str(self.job.output)).exists():
                raise ValueError(f"{self.job.output}: no {self.path.name} beside it: its run finished "
                                 f"(or did not write it); nothing to resume")
            return 0, 0
        state = json.loads(self.path.read_text(encoding="utf-8"))
        for name, key in ((self.job.output, "output_bytes"), (self.job.errors, "errors_bytes")):
            if name is not None and state[key] and (not Path(name).exists() or Path(name).stat().st_size < state[key]):
                raise ValueError(f"{name} is shorter than {self.path.name} says it was: it was changed; "
                                 f"run again without --resume")
        _truncate(self.job.output, state["output_bytes"])
        _truncate(self.job.errors, state["errors_bytes"])
        return state["records"], state["failed"]

    def save(self, counts: Counts, sinks: dict[int, _Sink]) -> None:
        if self.path is None:
            return
        state = {"records": counts.done_before + counts.records, "failed": counts.failed_before + counts.failed,
                 "output_bytes": sinks[OUTPUT].written, "errors_bytes": sinks[ERRORS].written}
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(state), encoding="utf-8")
        os.replace(temporary, self.path)  # atomic: a kill leaves the old or the new state

    def finish(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _restore_jsonl(output: str | None, errors: str | None) -> tuple[int, int]:
    done = failed = 0
    for path, all_failed in ((output, False), (errors, True)):
        lines, error_lines = _cut_to_complete_lines(path)
        done += lines
        failed += lines if all_failed else error_lines
    return done, failed


def _cut_to_complete_lines(path: str | None) -> tuple[int, int]:
    """Drop a trailing partial line; (complete lines, lines with an error field)."""
    if path is None or not Path(path).exists():
        return 0, 0
    lines = error_lines = end = 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            lines += 1
            error_lines += _ERROR_KEY in line
            end += len(line)
    _truncate(path, end)
    return lines, error_lines


def _truncate(path: str | None, size: int) -> None:
    """Cut a file back to `size` bytes (never grow it: that would pad with NULs)."""
    if path is not None and Path(path).exists() and Path(path).stat().st_size > size:
        os.truncate(path, size)


# -- progress bar ---------------------------------------------------------------------

class _Progress:
    """One line on stderr: records, sentences, rate and, once the inputs are
    counted (in a background thread, so tagging starts at once), the ETA."""

    def __init__(self, stream: IO[str], done_before: int, paths: Sequence[str]) -> None:
        self.stream = stream
        self.done_before = done_before
        self.total: int | None = None
        self.started = self.last_draw = time.perf_counter()
        self.width = 0
        threading.Thread(target=self._count, args=(paths,), daemon=True).start()

    def _count(self, paths: Sequence[str]) -> None:
        self.total = estimate_records(paths)

    def update(self, records: int, sentences: int) -> None:
        now = time.perf_counter()
        if now - self.last_draw < PROGRESS_INTERVAL:
            return
        self.last_draw = now
        elapsed = max(now - self.started, 1e-9)
        done = self.done_before + records
        rate = f"{sentences:,} sentences  {sentences / elapsed:,.0f} sentences/s"
        if self.total:
            left = max(self.total - done, 0) * elapsed / max(records, 1)
            line = f"{done:,}/{self.total:,} records ({min(done / self.total, 1):.0%})  {rate}  ETA {_clock(left)}"
        else:
            line = f"{done:,} records  {rate}"
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)

    def clear(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


# -- data frames ----------------------------------------------------------------------

# Taggers loaded by this process, by (model, threshold, rules_only): a process
# uses one or two, so the cache needs no bound.
_TAGGERS: dict[tuple[str | None, float | None, bool], Tagger] = {}
_TAGGERS_LOCK = threading.Lock()


def cached_tagger(model: str | None = None, threshold: float | None = None, rules_only: bool = False) -> Tagger:
    """`Tagger.load(model, ...)`, loaded once per process and arguments: what
    each Dask/Spark worker process calls, so a model is read once per worker
    (the lock makes a worker's threads wait for the first load, not repeat it)."""
    from rhetoric.tagger import Tagger

    key = (model, threshold, rules_only)
    with _TAGGERS_LOCK:
        if key not in _TAGGERS:
            _TAGGERS[key] = Tagger.load(model, threshold=threshold, rules_only=rules_only)
        return _TAGGERS[key]


def clear_tagger_cache() -> None:
    with _TAGGERS_LOCK:
        _TAGGERS.clear()


def tag_rows(tagger: Tagger, texts: Iterable[Any], ids: Iterable[Any], on_error: str = "raise",
             n_jobs: int = 1) -> dict[str, list[Any]]:
    """Columns (CSV_COLUMNS) with one row per tag; with on_error='skip', a
    text that is not a `str` (NaN, None, a number) gives one row whose `error`
    says why and whose other tag columns are empty."""
    columns: dict[str, list[Any]] = {name: [] for name in CSV_COLUMNS}
    pairs = zip(texts, ids, strict=True)
    for result, doc_id in tagger.tag_many(pairs, as_tuples=True, on_error=on_error, n_jobs=n_jobs):
        if result.error is not None:
            for name, value in zip(CSV_COLUMNS, (doc_id, None, None, None, None, None, None, None, result.error),
                                   strict=True):
                columns[name].append(value)
        for t in result.tags:
            for name, value in zip(CSV_COLUMNS, (doc_id, t.device, t.start, t.end, t.score, t.source, t.sentence,
                                                 t.text, None), strict=True):
                columns[name].append(value)
    return columns


def tag_dataframe(df: pd.DataFrame, text_col: str, id_col: str | None = None, *, model: str | None = None,
                  tagger: Tagger | None = None, on_error: str = "raise", n_jobs: int = 1) -> pd.DataFrame:
    """One row per tag of the texts in `df[text_col]`: columns id (`df[id_col]`,
    or the index), device, start, end, score, source, sentence, text, error.
    Offsets index the cell's text. `tagger` defaults to the model in `model`
    (the shipped one when None), loaded once per process. A cell that is not
    text (NaN, None) raises TypeError, or with on_error='skip' gives one row
    with `error` set."""
    import pandas as pd

    if text_col not in df.columns:
        raise KeyError(f"no column {text_col!r} (columns: {', '.join(map(str, df.columns))})")
    ids = df.index if id_col is None else df[id_col]
    tagger = tagger if tagger is not None else cached_tagger(model)
    columns = tag_rows(tagger, df[text_col], ids, on_error=on_error, n_jobs=n_jobs)
    return pd.DataFrame(columns).astype(ROW_DTYPES)


# Column types of `tag_dataframe`: nullable, so error rows fit beside tags.
ROW_DTYPES = {"id": "object", "device": "object", "start": "Int64", "end": "Int64", "score": "Float64",
              "source": "object", "sentence": "Int64", "text": "object", "error": "object"}
