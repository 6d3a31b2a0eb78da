"""Check the splitter's plain-context shortcut against Punkt on a corpus.

    PYTHONPATH=. python scripts/check_splitter_shortcut.py --ptc ../shared/data/ptc

For every candidate sentence end that Punkt considers in every PTC article
(rhetoric.text._text_contains_sentbreak against Punkt's own
text_contains_sentbreak), prints how many contexts there are, how many the
shortcut answers itself, and how many answers differ (must be 0); then
whether split_sentences gives the same spans with and without the shortcut,
and the CPU time of each. The README's and rhetoric/text.py's figures come
from this script.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from rhetoric import text as splitter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ptc", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared/data/ptc")
    args = parser.parse_args()
    articles = sorted(args.ptc.rglob("article*.txt"))
    if not articles:
        raise SystemExit(f"{args.ptc}: no PTC article*.txt files")
    texts = [a.read_text(encoding="utf-8") for a in articles]
    tokenizer = splitter._tokenizer()
    punkt_class = type(tokenizer).__mro__[1]
    punkt_answer = punkt_class.text_contains_sentbreak
    asked: list[str] = []  # the contexts the shortcut hands to Punkt

    def counted(self: object, context: str) -> bool:
        asked.append(context)
        return bool(punkt_answer(self, context))

    contexts = differ = 0
    for text in texts:
        for _, context in tokenizer._match_potential_end_contexts(text):
            contexts += 1
            punkt_class.text_contains_sentbreak = counted
            shortcut = splitter._text_contains_sentbreak(tokenizer, context)
            punkt_class.text_contains_sentbreak = punkt_answer
            differ += shortcut != punkt_answer(tokenizer, context)
    answered = contexts - len(asked)
    print(f"{len(texts)} articles: {contexts:,} candidate contexts, {answered:,} answered by the shortcut "
          f"({answered / contexts:.0%}), {differ} answers differ from Punkt's")
    started = time.process_time()
    with_shortcut = [splitter.split_sentences(t) for t in texts]
    shortcut_seconds = time.process_time() - started
    type(tokenizer).text_contains_sentbreak = punkt_class.text_contains_sentbreak
    started = time.process_time()
    without = [splitter.split_sentences(t) for t in texts]
    punkt_seconds = time.process_time() - started
    print(f"split_sentences: same spans {with_shortcut == without}; CPU {shortcut_seconds:.3f} s with the shortcut, "
          f"{punkt_seconds:.3f} s without")


if __name__ == "__main__":
    main()
