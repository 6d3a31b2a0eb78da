"""Choose the PTC articles kept aside for final evaluation (issue 4).

20% of the train+dev articles, drawn once with a fixed seed, are never used
for training or model selection; every figure in the model card is measured
on them. Article ids only (standoff), never text.

    python scripts/make_ptc_split.py ../shared/data/ptc data/splits/ptc_holdout.txt
"""
import random
import sys
from pathlib import Path

SEED = 2019          # the PTC release year; any fixed value would do
HOLDOUT_SHARE = 0.2  # a fifth of the articles: ~70, enough for every device to occur


def main(ptc_root: str, out: str) -> None:
    ids = sorted(p.stem[len("article"):] for p in Path(ptc_root).rglob("article*.txt"))
    chosen = sorted(random.Random(SEED).sample(ids, round(len(ids) * HOLDOUT_SHARE)))
    Path(out).write_text("".join(f"{i}\n" for i in chosen), encoding="utf-8")
    print(f"{len(chosen)} of {len(ids)} articles held out -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
