"""Readers for labelled corpora: the PTC standoff format and SemEval-2021 memes.

A labelled document is its text plus device spans (character offsets, end
exclusive). Sentence-level labels come from overlap: a sentence carries a
device when one of its spans overlaps the sentence.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rhetoric.devices import from_ptc, from_semeval


@dataclass(frozen=True)
class Span:
    device: str
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    spans: tuple[Span, ...] = ()


def read_ptc(directory: str | Path) -> list[Document]:
    """Every `article<ID>.txt` of a PTC folder with the spans of its `.labels.tsv`
    (`id <TAB> technique <TAB> begin <TAB> end`); an article without a label file
    has no spans. Sorted by article id so runs are reproducible."""
    folder = Path(directory)
    paths = sorted(folder.glob("article*.txt"))
    if not paths:
        raise FileNotFoundError(f"{folder}: no article*.txt files (is this a PTC folder?)")
    docs = []
    for path in paths:
        article_id = path.stem[len("article"):]
        # decoded from bytes: read_text would fold '\r\n' and shift the offsets
        text = path.read_bytes().decode("utf-8")
        spans = []
        labels = path.with_name(f"article{article_id}.labels.tsv")
        if labels.exists():
            for lineno, line in enumerate(labels.read_bytes().decode("utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    _, technique, begin, end = line.split("\t")
                    spans.append(Span(from_ptc(technique), int(begin), int(end)))
                except (ValueError, KeyError) as err:
                    raise ValueError(f"{labels}:{lineno}: {err}") from None
        docs.append(Document(article_id, text, tuple(sorted(spans, key=lambda s: (s.start, s.end, s.device)))))
    return docs


def read_semeval_memes(path: str | Path) -> list[Document]:
    """SemEval-2021 Task 6 subtask 2 JSON (`[{id, text, labels: [{start, end, technique}]}]`).
    Techniques we do not catalogue (Smears, Glittering generalities) are dropped."""
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    docs = []
    for rec in records:
        spans = []
        for lab in rec["labels"]:
            device = from_semeval(lab["technique"])
            if device is not None:
                spans.append(Span(device, int(lab["start"]), int(lab["end"])))
        docs.append(Document(f"meme{rec['id']}", rec["text"], tuple(spans)))
    return docs


def sentence_labels(spans: Iterable[Span], sentences: Sequence[tuple[int, int]]) -> list[set[str]]:
    """The devices each sentence carries: those with a span overlapping it."""
    labels: list[set[str]] = [set() for _ in sentences]
    for span in spans:
        for i, (start, end) in enumerate(sentences):
            if span.start < end and span.end > start:
                labels[i].add(span.device)
    return labels


# -- input records for tagging ----------------------------------------------------

@dataclass(frozen=True)
class Record:
    """One document to tag, or the reason it could not be read."""

    id: str
    text: str | None
    error: str | None = None


def iter_records(paths: Sequence[str], text_field: str = "text", id_field: str | None = None,
                 encoding: str = "utf-8") -> Iterator[Record]:
    """Documents from .txt files, folders of them (recursive), JSONL files and
    stdin ('-', read as JSONL when every line is a JSON object, else as one
    text). A record that cannot be read becomes an error Record naming the
    file, the line and the reason; the other records go on."""
    for arg in paths:
        if arg == "-":
            yield from _stdin_records(text_field, id_field)
            continue
        path = Path(arg)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".jsonl") and p.is_file())
        elif path.exists():
            files = [path]
        else:
            yield Record(arg, None, f"{arg}: no such file or directory")
            continue
        for file in files:
            if file.suffix == ".jsonl":
                yield from _jsonl_records(file, text_field, id_field, encoding)
            else:
                yield _text_record(file, encoding)


def _text_record(path: Path, encoding: str) -> Record:
    try:
        return Record(str(path), path.read_bytes().decode(encoding))
    except UnicodeDecodeError as err:
        return Record(str(path), None, f"{path}: not valid {encoding} at byte {err.start} "
                                       f"(try --encoding)")
    except OSError as err:
        return Record(str(path), None, f"{path}: cannot read ({err.strerror})")


def _jsonl_records(path: Path, text_field: str, id_field: str | None, encoding: str) -> Iterator[Record]:
    try:
        handle = open(path, encoding=encoding, errors="strict", newline="")
    except OSError as err:
        yield Record(str(path), None, f"{path}: cannot read ({err.strerror})")
        return
    with handle:
        lineno = 0
        while True:
            lineno += 1
            try:
                line = handle.readline()
            except UnicodeDecodeError as err:
                yield Record(f"{path}:{lineno}", None, f"{path}:{lineno}: not valid {encoding} ({err.reason})")
                return
            if not line:
                return
            if line.strip():
                yield _json_record(line, f"{path}:{lineno}", text_field, id_field)


def _json_record(line: str, where: str, text_field: str, id_field: str | None) -> Record:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        return Record(where, None, f"{where}: invalid JSON ({err.msg})")
    if not isinstance(obj, dict):
        return Record(where, None, f"{where}: expected a JSON object, got {type(obj).__name__}")
    rec_id = str(obj.get(id_field, where)) if id_field else where
    if text_field not in obj:
        return Record(rec_id, None, f"{where}: no field {text_field!r}")
    text = obj[text_field]
    if not isinstance(text, str):
        return Record(rec_id, None, f"{where}: field {text_field!r} is {type(text).__name__}, not a string")
    return Record(rec_id, text)


def _stdin_records(text_field: str, id_field: str | None) -> Iterator[Record]:
    import sys

    data = sys.stdin.read()
    lines = [ln for ln in data.splitlines() if ln.strip()]
    if lines and all(ln.lstrip().startswith("{") for ln in lines):
        for lineno, line in enumerate(data.splitlines(), 1):
            if line.strip():
                yield _json_record(line, f"<stdin>:{lineno}", text_field, id_field)
    else:
        yield Record("<stdin>", data)
