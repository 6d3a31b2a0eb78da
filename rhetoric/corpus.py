"""Readers for labelled corpora: the PTC standoff format and SemEval-2021 memes.

A labelled document is its text plus device spans (character offsets, end
exclusive). Sentence-level labels come from overlap: a sentence carries a
device when one of its spans overlaps the sentence.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
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
