"""Measure rhetoric.text.split_sentences against the PTC dev articles.

    PYTHONPATH=. python scripts/measure_splitter.py --ptc ../shared/data/ptc [--json]

The PTC articles hold one sentence per line, as NLTK split them, with blank
lines between paragraphs: a free gold standard. The fair protocol ("joined",
the default): within each paragraph the lines are joined with a single space,
so the gold boundaries are not given away by line breaks; paragraphs stay
apart with a blank line. The splitter runs on that text and its sentence ends
are compared with the gold ones: boundary precision, recall and F1.

Two kinds of disagreement are gold artefacts rather than splitter errors:
they are counted apart, stay in the raw scores and are left out of the
"without_gold_artefacts" scores:
- "missed_hidden_line_break": a missed gold boundary after a line with no
  terminal punctuation that was joined with a space. NLTK never ends a
  sentence there, so the source text had a line break (headline, list item,
  byline, "Highlights:"), which the joined protocol removes. Protocol
  "newlines" keeps a line break after such lines and so measures the
  splitter's line-break rule instead.
- "after_closing_curly_quote": a predicted boundary after '.”' (or ?” !” .’)
  that the gold lacks: the NLTK of 2019 that split PTC did not treat curly
  quotes as punctuation and so never split there, even between two sentences.
Two more differences stay in every score, the adjusted ones included. "after_ellipsis_character" counts
predicted boundaries after "…", where NLTK never splits and rhetoric.text may
(most of them, read by hand, are real boundaries: "you resent it… Many fear").
And NLTK makes a list number its own sentence ("2." | "Scrap the program"),
where rhetoric.text keeps "2. Scrap the program" whole: about 10 missed
boundaries on PTC dev.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from rhetoric.text import split_sentences  # noqa: E402

PROTOCOLS = ("joined", "newlines")
# A line ending in . ? or ! maybe followed by closing quotes or brackets.
ENDS_WITH_TERMINAL_PUNCTUATION = re.compile(r"[.?!][\"')\]}\u2019\u201d\u00bb]*$")
SPEED_REPEATS = 3  # best of three runs, to ignore a cold cache or a busy core
EXAMPLE_CONTEXT = 40  # characters shown on each side of an error

Splitter = Callable[[str], list[tuple[int, int]]]


@dataclass
class BoundaryScore:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    missed_hidden_line_break: int = 0
    after_closing_curly_quote: int = 0
    after_ellipsis_character: int = 0
    errors: list[str] = field(default_factory=list)

    def without_gold_artefacts(self) -> BoundaryScore:
        """The score with both kinds of gold artefact taken out."""
        return BoundaryScore(
            true_positives=self.true_positives,
            false_positives=self.false_positives - self.after_closing_curly_quote,
            false_negatives=self.false_negatives - self.missed_hidden_line_break,
        )

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def evaluation_text(article: str, protocol: str = "joined") -> tuple[str, list[int]]:
    """The text to split and the gold sentence-end offsets in it, from an
    article with one sentence per line and blank lines between paragraphs."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    pieces: list[str] = []
    gold_ends: list[int] = []
    length = 0
    for paragraph in _paragraphs(article):
        if pieces:
            pieces.append("\n\n")
            length += 2
        for index, line in enumerate(paragraph):
            if index:
                separator = _line_separator(paragraph[index - 1], protocol)
                pieces.append(separator)
                length += len(separator)
            pieces.append(line)
            length += len(line)
            gold_ends.append(length)
    return "".join(pieces), gold_ends


def _paragraphs(article: str) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in article.splitlines():
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [paragraph for paragraph in paragraphs if paragraph]


def _line_separator(previous_line: str, protocol: str) -> str:
    if protocol == "newlines" and not ENDS_WITH_TERMINAL_PUNCTUATION.search(previous_line):
        return "\n"
    return " "


def score_boundaries(
    articles: Iterable[str], protocol: str = "joined", split: Splitter = split_sentences
) -> BoundaryScore:
    """Boundary precision/recall of `split` over the articles."""
    score = BoundaryScore()
    for article in articles:
        text, gold_ends = evaluation_text(article, protocol)
        predicted_ends = {end for _, end in split(text)}
        _add_article(score, text, set(gold_ends), predicted_ends)
    return score


def _add_article(score: BoundaryScore, text: str, gold: set[int], predicted: set[int]) -> None:
    score.true_positives += len(gold & predicted)
    score.false_positives += len(predicted - gold)
    score.false_negatives += len(gold - predicted)
    for end in sorted(gold - predicted):
        hidden_line_break = text[end : end + 1] == " "  # joined, not kept as "\n"
        if hidden_line_break and not ENDS_WITH_TERMINAL_PUNCTUATION.search(text[:end]):
            score.missed_hidden_line_break += 1
        score.errors.append("missed " + _context(text, end))
    for end in sorted(predicted - gold):
        if text[end - 1] in "\u2019\u201d" and text[end - 2] in ".?!":
            score.after_closing_curly_quote += 1
        if text[end - 1] == "\u2026":
            score.after_ellipsis_character += 1
        score.errors.append("extra  " + _context(text, end))


def _context(text: str, end: int) -> str:
    before = text[max(0, end - EXAMPLE_CONTEXT) : end]
    after = text[end : end + EXAMPLE_CONTEXT]
    return f"{before!r} | {after!r}"


def sentences_per_second(texts: list[str]) -> float:
    """Throughput of split_sentences on the texts, best of SPEED_REPEATS."""
    split_sentences("Warm up. Build the tokenizer once.")
    best = float("inf")
    sentences = 0
    for _ in range(SPEED_REPEATS):
        start = time.perf_counter()
        sentences = sum(len(split_sentences(text)) for text in texts)
        best = min(best, time.perf_counter() - start)
    return sentences / best


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    paths = sorted((args.ptc / "dev").glob("*.txt"))
    if not paths:
        sys.exit(f"no PTC dev articles in {args.ptc / 'dev'}")
    articles = [path.read_text(encoding="utf-8") for path in paths]
    report: dict[str, object] = {"articles": len(articles)}
    for protocol in PROTOCOLS:
        score = score_boundaries(articles, protocol)
        report[protocol] = _summary(score)
        if args.errors and protocol == "joined":
            print("\n".join(score.errors))
    texts = [evaluation_text(article)[0] for article in articles]
    report["sentences_per_second"] = round(sentences_per_second(texts))
    print(json.dumps(report, indent=1) if args.json else _render(report))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ptc", type=Path, required=True, help="PTC folder with dev/*.txt")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--errors", action="store_true", help="print every disagreement")
    return parser.parse_args(argv)


def _summary(score: BoundaryScore) -> dict[str, float | int]:
    counts = asdict(score)
    del counts["errors"]
    digits = 4  # enough to tell one boundary in 2,000 apart
    adjusted = score.without_gold_artefacts()
    return {
        "precision": round(score.precision, digits),
        "recall": round(score.recall, digits),
        "f1": round(score.f1, digits),
        **counts,
        "without_gold_artefacts": {
            "precision": round(adjusted.precision, digits),
            "recall": round(adjusted.recall, digits),
            "f1": round(adjusted.f1, digits),
        },
    }


def _render(report: dict[str, object]) -> str:
    lines = [f"PTC dev: {report['articles']} articles"]
    for protocol in PROTOCOLS:
        summary = report[protocol]
        assert isinstance(summary, dict)
        lines.append(
            f"{protocol:9} P={summary['precision']:.4f} R={summary['recall']:.4f} "
            f"F1={summary['f1']:.4f}  (tp={summary['true_positives']} "
            f"fp={summary['false_positives']} fn={summary['false_negatives']}; "
            f"fn where joining hid a line break={summary['missed_hidden_line_break']}, "
            f"fp after closing curly quote={summary['after_closing_curly_quote']}, "
            f"fp after …={summary['after_ellipsis_character']})"
        )
        adjusted = summary["without_gold_artefacts"]
        lines.append(
            f"{'':9} without gold artefacts: P={adjusted['precision']:.4f} "
            f"R={adjusted['recall']:.4f} F1={adjusted['f1']:.4f}"
        )
    lines.append(f"speed: {report['sentences_per_second']} sentences/s (split_sentences)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
