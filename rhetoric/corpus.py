"""Readers for labelled corpora: the PTC standoff format and SemEval-2021 memes.

A labelled document is its text plus device spans (character offsets, end
exclusive). Sentence-level labels come from overlap: a sentence carries a
device when one of its spans overlaps the sentence.
"""
from __future__ import annotations

import csv
import glob
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

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


# Files a folder contributes when it is given as input (recursively). Tables
# (.csv/.tsv) are read only when named or matched by a glob: a PTC folder keeps
# its gold labels in .tsv files that are not documents.
FOLDER_SUFFIXES = (".txt", ".jsonl")
TABLE_DELIMITERS = {".csv": ",", ".tsv": "\t"}
# Cells that stand for a missing value rather than a text: pandas' default
# `read_csv` NA strings (the common ones), compared lower-cased and stripped.
MISSING_CELLS = frozenset({"", "nan", "na", "n/a", "null", "none", "#n/a", "<na>"})
# csv's default field limit (131,072 characters) is shorter than many
# documents; raise it to the largest C long on 64-bit platforms.
CSV_FIELD_LIMIT = 2**63 - 1
# Input files are decoded with errors="surrogateescape": a byte the encoding
# cannot decode becomes one of these code points (PEP 383), so a bad byte
# fails only the line or row it is in, not everything after it in the file.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
# Any surrogate: a JSON string may hold one as an escape ("\\ud800"); it is
# not Unicode text and cannot be written out as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Bytes looked at to tell a binary file from text in an unknown encoding (as git does).
BINARY_SNIFF_BYTES = 8000


def iter_records(paths: Sequence[str], text_field: str = "text", id_field: str | None = None,
                 encoding: str = "utf-8") -> Iterator[Record]:
    """Documents from .txt files, folders of .txt/.jsonl files (recursive),
    globs (expanded here, so a quoted glob works), JSONL files, CSV/TSV files
    with a header row, and stdin ('-': JSONL when its first line is a JSON
    object, else one text). A record that cannot be read becomes an error
    Record naming the file, the line and the reason; the other records go on.
    Lazy: a file is opened when its records are asked for."""
    for arg in paths:
        if arg == "-":
            yield from _stdin_records(text_field, id_field, encoding)
            continue
        files, problem = input_files(arg)
        if problem is not None:
            yield Record(arg, None, problem)
        for file in files:
            yield from _file_records(file, text_field, id_field, encoding)


def input_files(arg: str) -> tuple[list[Path], str | None]:
    """The files one PATH argument names (a file, a folder, or a glob), sorted,
    or the reason it names none."""
    path = Path(arg)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in FOLDER_SUFFIXES and p.is_file()), None
    if path.exists():
        return [path], None
    if glob.has_magic(arg):
        matches = sorted(glob.glob(arg, recursive=True))
        files = [f for match in matches for f in input_files(match)[0]]
        return files, None if files else f"{arg}: no files match"
    return [], f"{arg}: no such file or directory"


def estimate_records(paths: Sequence[str]) -> int | None:
    """About how many records `iter_records(paths)` yields, counted cheaply
    (files, and lines of JSONL/CSV/TSV files, without parsing them); None when
    stdin is among the inputs. For progress bars: blank lines and CSV cells
    spanning lines make it an estimate."""
    if "-" in paths:
        return None
    total = 0
    for arg in paths:
        files, problem = input_files(arg)
        total += problem is not None
        for file in files:
            if file.suffix == ".jsonl":
                total += _count_lines(file)
            elif file.suffix in TABLE_DELIMITERS:
                total += max(_count_lines(file) - 1, 0)  # less the header row
            else:
                total += 1
    return total


def _count_lines(path: Path) -> int:
    """Lines in a file, a last line without a newline included."""
    count, last = 0, b"\n"
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):  # 1 MiB reads
                count += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return 1
    return count + (last != b"\n")


def _file_records(file: Path, text_field: str, id_field: str | None, encoding: str) -> Iterator[Record]:
    if file.suffix == ".jsonl":
        yield from _jsonl_records(file, text_field, id_field, encoding)
    elif file.suffix in TABLE_DELIMITERS:
        yield from _table_records(file, TABLE_DELIMITERS[file.suffix], text_field, id_field, encoding)
    else:
        yield _text_record(file, encoding)


def _text_record(path: Path, encoding: str) -> Record:
    try:
        data = path.read_bytes()
        return Record(str(path), data.decode(encoding))
    except UnicodeDecodeError as err:
        nul = data.find(b"\0", 0, BINARY_SNIFF_BYTES)
        if nul >= 0:
            return Record(str(path), None, f"{path}: a binary file, not text (a NUL byte at byte {nul}, "
                                           f"and not valid {encoding} at byte {err.start})")
        return Record(str(path), None, f"{path}: not valid {encoding} at byte {err.start} "
                                       f"(try --encoding)")
    except OSError as err:
        return Record(str(path), None, f"{path}: cannot read ({err.strerror})")


def _open_text(path: Path, encoding: str) -> TextIO | Record:
    """The file opened for reading records (bad bytes kept as surrogates, so
    one bad line is one error record), or the error record saying why not."""
    try:
        return open(path, encoding=_without_bom(encoding), errors="surrogateescape", newline="")
    except OSError as err:
        return Record(str(path), None, f"{path}: cannot read ({err.strerror})")


def _jsonl_records(path: Path, text_field: str, id_field: str | None, encoding: str) -> Iterator[Record]:
    handle = _open_text(path, encoding)
    if isinstance(handle, Record):
        yield handle
        return
    with handle:
        lineno = 0
        while True:
            lineno += 1
            try:
                line = handle.readline()
            except UnicodeDecodeError as err:  # not escapable (a byte < 0x80 in, say, UTF-16)
                yield Record(f"{path}:{lineno}", None, f"{path}:{lineno}: not valid {encoding} ({err.reason}); "
                                                       "the rest of the file is skipped")
                return
            if not line:
                return
            where = f"{path}:{lineno}"
            if (bad := _undecodable(line, where, encoding)) is not None:
                yield Record(where, None, bad)
            elif line.strip():
                yield _json_record(line, where, text_field, id_field)


def _without_bom(encoding: str) -> str:
    """The codec that reads `encoding` and drops a UTF-8 byte-order mark at the
    start of the file (Excel and Notepad write one): in JSONL and CSV/TSV it is
    part of no value, and left in it breaks the first line's JSON or renames the
    first column. A .txt file is read as given, BOM and all: offsets index it."""
    import codecs

    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def _undecodable(line: str, where: str, encoding: str) -> str | None:
    """Why a line read with errors="surrogateescape" is not valid text, or None."""
    bad = _ESCAPED_BYTE.search(line)
    if bad is None:
        return None
    byte = ord(bad.group()) - 0xDC00
    return f"{where}: not valid {encoding} (byte 0x{byte:02x} at character {bad.start() + 1}; try --encoding)"


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
        what = "NaN" if isinstance(text, float) and text != text else type(text).__name__
        return Record(rec_id, None, f"{where}: field {text_field!r} is {what}, not a string")
    if (surrogate := _SURROGATE.search(text)) is not None:
        return Record(rec_id, None, f"{where}: field {text_field!r} holds a lone surrogate "
                                    f"(\\u{ord(surrogate.group()):04x} at {surrogate.start()}), not Unicode text")
    if _SURROGATE.search(rec_id):
        return Record(where, None, f"{where}: field {id_field!r} holds a lone surrogate, not Unicode text")
    return Record(rec_id, text)


def _table_records(path: Path, delimiter: str, text_field: str, id_field: str | None,
                   encoding: str) -> Iterator[Record]:
    """A record per row of a CSV/TSV file whose first row names the columns;
    a row's id is `file:line` (the line it starts on) unless `id_field` names
    a column. An empty or NaN-like text cell is an error record."""
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    handle = _open_text(path, encoding)
    if isinstance(handle, Record):
        yield handle
        return
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        where = f"{path}:1"
        try:
            header = next(reader, None)
            if header is None:
                return
            columns: dict[str, int] = {}
            for i, name in enumerate(header):
                columns.setdefault(name, i)  # the first of duplicate names
            line = reader.line_num + 1
            for row in reader:
                where, line = f"{path}:{line}", reader.line_num + 1
                if (bad := _undecodable(delimiter.join(row), where, encoding)) is not None:
                    yield Record(where, None, bad)
                elif row:  # csv gives [] for a blank line
                    yield _table_record(row, columns, where, text_field, id_field)
        except UnicodeDecodeError as err:
            yield Record(where, None, f"{where}: not valid {encoding} ({err.reason}); the rest of the file is skipped")
        except csv.Error as err:
            yield Record(where, None, f"{where}: unreadable CSV ({err}); the rest of the file is skipped")


def _table_record(row: list[str], columns: dict[str, int], where: str, text_field: str,
                  id_field: str | None) -> Record:
    id_col = columns.get(id_field) if id_field else None
    rec_id = row[id_col] if id_col is not None and id_col < len(row) and row[id_col] else where
    text_col = columns.get(text_field)
    if text_col is None:
        return Record(rec_id, None, f"{where}: no column {text_field!r} (columns: {', '.join(columns)})")
    if text_col >= len(row):
        return Record(rec_id, None, f"{where}: the row has no cell for column {text_field!r}")
    text = row[text_col]
    if text.strip().lower() in MISSING_CELLS:
        what = "empty" if not text.strip() else f"{text.strip()!r}, a missing value"
        return Record(rec_id, None, f"{where}: column {text_field!r} is {what}, not a text")
    return Record(rec_id, text)


def _stdin_records(text_field: str, id_field: str | None, encoding: str = "utf-8") -> Iterator[Record]:
    """Streamed: JSONL when the first non-blank line starts with '{', else the
    whole of stdin as one text. Its bytes are decoded with `encoding` as files
    are: a bad byte fails its own line (or the one text), not the run."""
    import io
    import sys

    stdin: IO[str] = sys.stdin
    if hasattr(sys.stdin, "buffer"):  # a real stdin (tests put a StringIO there)
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding=_without_bom(encoding), errors="surrogateescape")
    head: list[str] = []
    for line in stdin:
        head.append(line)
        if line.strip():
            break
    if not head or not head[-1].lstrip().startswith("{"):
        text = "".join(head) + stdin.read()
        bad = _undecodable(text, "<stdin>", encoding)
        yield Record("<stdin>", None, bad) if bad is not None else Record("<stdin>", text)
        return
    for lineno, line in enumerate(itertools.chain(head, stdin), 1):
        where = f"<stdin>:{lineno}"
        if (bad := _undecodable(line, where, encoding)) is not None:
            yield Record(where, None, bad)
        elif line.strip():
            yield _json_record(line, where, text_field, id_field)
