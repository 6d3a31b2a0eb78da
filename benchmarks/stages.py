"""Where the tagger's time goes: CPU seconds per pipeline stage, one process.

    PYTHONPATH=. python benchmarks/stages.py [--model DIR] [--corpus FILE.jsonl] [--mb 5]

Runs the stages of `Tagger._tag_batch` one by one on batches of the corpus
(the one `benchmarks/throughput.py` builds, or a JSONL file with a `text`
field), timing each with CPU time (`time.process_time`, robust to other
jobs on a shared machine), and prints seconds, share and sentences per
CPU-second for: sentence splitting, rule matching, each feature block,
predict_proba, and combine. Mirrors `_tag_batch`; check it against
`tag_many` (the last line) when that method changes.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Documents per batch: the Tagger's default batch size (tagger.DEFAULT_BATCH_SIZE).
BATCH = 256


def read_texts(corpus: Path, megabytes: float) -> list[str]:
    texts, size = [], 0
    with open(corpus, encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["text"])
            size += len(line)
            if size >= megabytes * 1_000_000:
                break
    return texts


def stage_times(tagger, texts: list[str]) -> tuple[dict[str, float], int]:
    from rhetoric.features import DocumentInput
    from rhetoric.text import split_sentences

    seconds: dict[str, float] = defaultdict(float)
    sentences = 0

    def timed(name, fn, *args):
        started = time.process_time()
        value = fn(*args)
        seconds[name] += time.process_time() - started
        return value

    for start in range(0, len(texts), BATCH):
        batch = texts[start:start + BATCH]
        spans = [timed("split_sentences", split_sentences, t) for t in batch]
        hits = [timed("rules.match", tagger.rules.match, t, s) for t, s in zip(batch, spans, strict=True)]
        docs = [DocumentInput(t, s, h) for t, s, h in zip(batch, spans, hits, strict=True)]
        sentences += sum(map(len, spans))
        blocks = [timed(f"features: {b.name}", b.transform, docs) for b in tagger.model.features.blocks]
        X = timed("features: hstack", _hstack, blocks)
        proba = timed("predict_proba", tagger.model.predict_proba, X, docs)
        X = timed("combine", tagger.model.explainable, X)
        timed("combine", _combine_all, tagger, docs, proba, X)
    return seconds, sentences


def _hstack(blocks):
    import numpy as np
    import scipy.sparse as sp

    return sp.hstack(blocks, format="csr", dtype=np.float32)


def _combine_all(tagger, docs, proba, X) -> None:
    row = 0
    for doc in docs:
        n = len(doc.sentences)
        tagger.combine(doc, proba[row:row + n], X, first_row=row)
        row += n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/rhetoric-bench/corpus_50mb.jsonl"),
                        help="JSONL corpus with a text field (default: the one throughput.py builds)")
    parser.add_argument("--mb", type=float, default=5, help="how much of the corpus to use, in MB (default: 5)")
    args = parser.parse_args()
    from rhetoric.tagger import Tagger

    tagger = Tagger.load(args.model)
    if tagger.model is None:
        raise SystemExit("no model: pass --model DIR")
    texts = read_texts(args.corpus, args.mb)
    tagger.tag("Warm up. Punkt loads here.")
    seconds, sentences = stage_times(tagger, texts)
    total = sum(seconds.values())
    print(f"{len(texts)} documents, {sentences:,} sentences, {total:.2f} CPU s in all stages "
          f"({sentences / total:,.0f} sentences per CPU-second)\n")
    print(f"{'stage':<30}{'CPU s':>8}{'share':>8}{'sentences/CPU-s':>18}")
    for name, secs in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"{name:<30}{secs:>8.2f}{secs / total:>8.0%}{sentences / secs:>18,.0f}")
    started = time.process_time()
    check = sum(len(r.sentences) for r in itertools.islice(tagger.tag_many(texts), len(texts)))
    spent = time.process_time() - started
    print(f"\ntag_many on the same documents: {spent:.2f} CPU s ({check / spent:,.0f} sentences per CPU-second)")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
