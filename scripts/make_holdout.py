"""Choose the documents kept aside for final evaluation (issues 3 and 4).

- PTC: 20% of the train+dev articles, drawn once with a fixed seed.
- The project's written documents (data/history_us_them/written*.jsonl):
  the fifth of them whose ids have the lowest SHA-256, a fixed order that
  needs no seed. Ranked within each batch of writing, so a later batch
  takes a fifth of its own documents and leaves the earlier picks as they
  were (rhetoric.train.written_batches: the first three files, of sessions
  1-3, are one batch, every later file is a batch of its own).
They are never used for training or model selection; the model card's figures
are measured on them. Ids only (standoff), never text. Writes
rhetoric/data/holdout.txt, shipped in the package so `rhetoric evaluate`
knows what the model has not seen.

    python scripts/make_holdout.py ../shared/data/ptc data/history_us_them
"""
import hashlib
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rhetoric.train import written_batches  # noqa: E402

SEED = 2019          # the PTC release year; any fixed value would do
HOLDOUT_SHARE = 0.2  # a fifth of the documents: ~70 PTC articles, enough for every device to occur
OUT = Path(__file__).resolve().parent.parent / "rhetoric" / "data" / "holdout.txt"


def ptc_holdout(ptc_root: Path) -> list[str]:
    ids = sorted(p.stem[len("article"):] for p in ptc_root.rglob("article*.txt"))
    return sorted(random.Random(SEED).sample(ids, round(len(ids) * HOLDOUT_SHARE)))


def written_holdout(project_dir: Path) -> list[str]:
    by_batch: dict[str, list[str]] = {}
    for key, batch in written_batches(project_dir).items():
        if key.startswith("written:"):
            by_batch.setdefault(batch, []).append(key)
    held = []
    for docs in by_batch.values():
        ranked = sorted(docs, key=lambda d: hashlib.sha256(d.encode()).hexdigest())
        held += ranked[: round(len(ranked) * HOLDOUT_SHARE)]
    return sorted(held)


def main(ptc_root: str, project_dir: str) -> None:
    ptc, written = ptc_holdout(Path(ptc_root)), written_holdout(Path(project_dir))
    OUT.write_text("# documents never trained on; made by scripts/make_holdout.py\n"
                   + "".join(f"{i}\n" for i in ptc + written), encoding="utf-8")
    print(f"{len(ptc)} PTC articles + {len(written)} written documents held out -> {OUT}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
