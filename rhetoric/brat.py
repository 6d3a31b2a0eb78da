"""brat standoff: write tags as `<id>.txt` / `<id>.ann` pairs a brat server can
show and correct, and read such folders back as labelled documents.

A tag becomes a text-bound annotation ``T<n> <TAB> device start end <TAB> text``
and an ``#<n> <TAB> AnnotatorNotes T<n> <TAB> score ... source ...`` note.
brat cannot show a fragment that crosses a line break, so a span that does is
written as the list of its line pieces (``start end;start end``); reading
joins pieces separated only by whitespace back into the one span.
The folder also gets ``annotation.conf`` (the 20 devices as entities, any
overlap allowed) and ``visual.conf`` (the report's colours).

Offsets are Python string indices into the .txt exactly as written (UTF-8,
no newline translation), which is what brat counts.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rhetoric.corpus import Document, Span
from rhetoric.devices import DEVICE_IDS, DEVICES, from_ptc

if TYPE_CHECKING:
    from rhetoric.tagger import Result, Tag
    from rhetoric.train import LabelledDoc

# The characters str.splitlines() breaks at: a brat fragment may hold none of them.
LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")
# What may not appear in a brat file name: keep letters, digits, '.', '_' and '-'.
UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# The WCAG relative-luminance level above which black text reads better than
# white on a colour (the crossing point of the two contrast ratios).
DARK_TEXT_ABOVE = 0.179


# -- writing ------------------------------------------------------------------------

def fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The pieces of `text[start:end]` between line breaks, whitespace-only
    pieces dropped: brat's fragments for one span."""
    pieces, pos = [], start
    for brk in LINE_BREAKS.finditer(text, start, end):
        pieces.append((pos, brk.start()))
        pos = brk.end()
    pieces.append((pos, end))
    kept = [(s, e) for s, e in pieces if text[s:e].strip()]
    return kept or [(start, end)]


def ann_lines(result: Result) -> list[str]:
    """The .ann lines for one tagged text: a T line and a note per tag."""
    lines = []
    for n, tag in enumerate(result.tags, 1):
        if tag.end <= tag.start:
            continue
        pieces = fragments(result.text, tag.start, tag.end)
        offsets = ";".join(f"{s} {e}" for s, e in pieces)
        # brat shows a discontinuous span's text as its pieces joined by a space
        shown = " ".join(result.text[s:e] for s, e in pieces)
        lines.append(f"T{n}\t{tag.device} {offsets}\t{_one_line(shown)}")
        lines.append(f"#{n}\tAnnotatorNotes T{n}\t{_note(tag)}")
    return lines


def _note(tag: Tag) -> str:
    parts = [f"score {tag.score:.4f}", f"source {tag.source}"]
    rules = list(dict.fromkeys(h.rule_id for h in tag.evidence.hits))
    if rules:
        parts.append("rules " + ", ".join(rules))
    if tag.evidence.features:
        parts.append("features " + ", ".join(f"{name} {weight:+.3f}" for name, weight in tag.evidence.features))
    return _one_line("; ".join(parts))


def _one_line(text: str) -> str:
    """Tabs and line breaks would end a brat field early."""
    return LINE_BREAKS.sub(" ", text).replace("\t", " ")


def annotation_conf() -> str:
    entities = "\n".join(DEVICE_IDS)
    return (f"# rhetoric's 20 devices (rhetoric devices); any two may overlap\n[entities]\n{entities}\n\n"
            "[relations]\n<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>\n\n[events]\n\n[attributes]\n")


def visual_conf() -> str:
    from rhetoric.report import DEVICE_COLOURS

    labels = "\n".join(f"{d.id} | {d.name}" for d in DEVICES)
    drawing = "\n".join(f"{d.id}\tbgColor:{DEVICE_COLOURS[d.id]}, fgColor:{_text_colour(DEVICE_COLOURS[d.id])}"
                        for d in DEVICES)
    return f"[labels]\n{labels}\n\n[drawing]\n{drawing}\n"


def _text_colour(background: str) -> str:
    """black or white, whichever contrasts more with `background` (#RRGGBB)."""
    def linear(channel: str) -> float:  # sRGB to linear light, per WCAG 2
        c = int(channel, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(background[k:k + 2]) for k in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b  # WCAG 2 relative luminance weights
    return "black" if luminance > DARK_TEXT_ABOVE else "white"


class BratWriter:
    """Writes each tagged document into `folder` as `<name>.txt` and
    `<name>.ann`, `name` being the document id made safe and unique."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"{self.folder}: --format brat writes a folder, and this is a file")
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "annotation.conf").write_text(annotation_conf(), encoding="utf-8")
        (self.folder / "visual.conf").write_text(visual_conf(), encoding="utf-8")
        self.used: set[str] = set()

    def __call__(self, doc_id: str, result: Result) -> None:
        if result.error is not None:
            print(f"rhetoric: {result.error}", file=sys.stderr)
            return
        name = self.file_name(doc_id)
        with open(self.folder / f"{name}.txt", "w", encoding="utf-8", newline="") as txt:
            txt.write(result.text)
        lines = ann_lines(result)
        with open(self.folder / f"{name}.ann", "w", encoding="utf-8", newline="") as ann:
            ann.write("".join(f"{line}\n" for line in lines))

    def file_name(self, doc_id: str) -> str:
        """`seeds/a.txt` -> `a`, `in.jsonl:3` -> `in.jsonl_3`; `-2`, `-3`... on a clash."""
        base = doc_id.replace("\\", "/").rsplit("/", 1)[-1]
        base = base[:-len(".txt")] if base.endswith(".txt") else base
        base = UNSAFE_NAME.sub("_", base).strip("._") or "document"
        name, k = base, 1
        while name.lower() in self.used:  # lower: clashes on case-insensitive file systems too
            k += 1
            name = f"{base}-{k}"
        self.used.add(name.lower())
        return name


# -- reading ------------------------------------------------------------------------

def read_brat(folder: str | Path) -> list[Document]:
    """Every `<name>.ann` of `folder` (recursively) with its `<name>.txt`, as
    Documents (id = name) whose spans are the text-bound annotations. Entity
    types are device ids or PTC technique names; other annotation kinds
    (relations, events, attributes, notes) are ignored. Sorted by id."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    anns = sorted(root.rglob("*.ann"))
    if not anns:
        raise FileNotFoundError(f"{root}: no .ann files (is this a brat folder?)")
    docs = []
    for ann in anns:
        txt = ann.with_suffix(".txt")
        if not txt.is_file():
            raise FileNotFoundError(f"{ann}: no {txt.name} beside it")
        # decoded from bytes: read_text would fold '\r\n' and shift the offsets
        text = txt.read_bytes().decode("utf-8-sig")
        spans = _read_ann(ann, text)
        docs.append(Document(ann.stem, text, tuple(sorted(spans, key=lambda s: (s.start, s.end, s.device)))))
    return sorted(docs, key=lambda d: d.id)


def _read_ann(path: Path, text: str) -> list[Span]:
    spans: list[Span] = []
    for lineno, line in enumerate(path.read_bytes().decode("utf-8-sig").splitlines(), 1):
        if not line.startswith("T"):
            continue
        try:
            _, type_and_offsets = line.split("\t")[:2]
            entity, offsets = type_and_offsets.split(" ", 1)
            device = entity if entity in DEVICE_IDS else from_ptc(entity)
            pieces = [(int(s), int(e)) for s, e in (p.split() for p in offsets.split(";"))]
        except (ValueError, KeyError) as err:
            raise ValueError(f"{path}:{lineno}: not a text-bound annotation of a known device ({err})") from None
        if any(not 0 <= s <= e <= len(text) for s, e in pieces):
            raise ValueError(f"{path}:{lineno}: offsets {offsets} outside the {len(text)} characters of the text")
        spans.extend(Span(device, s, e) for s, e in _join_pieces(text, pieces))
    return spans


def _join_pieces(text: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Fragments separated only by whitespace (line breaks, as `fragments`
    writes them) are one span; fragments with words between stay apart."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(pieces):
        if joined and not text[joined[-1][1]:start].strip():
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


def labelled_documents(folder: str | Path) -> list[LabelledDoc]:
    """brat documents as evaluation data: sentences from the library's
    splitter; a sentence carries a device when one of its spans overlaps it.
    The devices the annotators could label are the entities of the folder's
    annotation.conf (all 20 when there is none); the others count as unknown."""
    import numpy as np

    from rhetoric.corpus import sentence_labels
    from rhetoric.text import split_sentences
    from rhetoric.train import UNKNOWN, LabelledDoc

    known = [DEVICE_IDS.index(d) for d in _known_devices(Path(folder))]
    out = []
    for doc in read_brat(folder):
        sentences = split_sentences(doc.text)
        labels = np.full((len(sentences), len(DEVICE_IDS)), UNKNOWN, dtype=np.int8)
        labels[:, known] = 0
        for i, devices in enumerate(sentence_labels(doc.spans, sentences)):
            labels[i, [DEVICE_IDS.index(d) for d in devices]] = 1
        out.append(LabelledDoc(doc.id, doc.text, sentences, labels))
    return out


def _known_devices(folder: Path) -> list[str]:
    conf = folder / "annotation.conf"
    if not conf.is_file():
        return list(DEVICE_IDS)
    section, found = "", []
    for line in conf.read_text(encoding="utf-8").splitlines():
        entry = line.strip()
        if entry.startswith("[") and entry.endswith("]"):
            section = entry
        elif section == "[entities]" and entry and not entry.startswith("#"):
            name = entry.split()[0].lstrip("!")
            device = name if name in DEVICE_IDS else _ptc_or_none(name)
            if device is not None:
                found.append(device)
    return list(dict.fromkeys(found)) or list(DEVICE_IDS)


def _ptc_or_none(name: str) -> str | None:
    try:
        return from_ptc(name)
    except KeyError:
        return None


__all__ = ["BratWriter", "ann_lines", "fragments", "labelled_documents", "read_brat"]
