"""Choose the documents kept aside for final evaluation (issues 3 and 4).

- PTC: 20% of the train+dev articles, drawn once with a fixed seed.
- The project's written documents (data/history_us_them/written*.jsonl):
  the fifth of them whose ids have the lowest SHA-256, a fixed order that
  needs no seed. Ranked within each batch of writing, so a later batch
  takes a fifth of its own documents and leaves the earlier picks as they
  were: the first three files (sessions 1-3) are one batch, every later
  file is a batch of its own.
They are never used for training or model selection; the model card's figures
are measured on them. Ids only (standoff), never text. Writes
rhetoric/data/holdout.txt, shipped in the package so `rhetoric evaluate`
knows what the model has not seen.

    python scripts/make_holdout.py ../shared/data/ptc data/history_us_them
"""
import hashlib
import json
import random
import sys
from pathlib import Path

SEED = 2019          # the PTC release year; any fixed value would do
HOLDOUT_SHARE = 0.2  # a fifth of the documents: ~70 PTC articles, enough for every device to occur
OUT = Path(__file__).resolve().parent.parent / "rhetoric" / "data" / "holdout.txt"


def ptc_holdout(ptc_root: Path) -> list[str]:
    ids = sorted(p.stem[len("article"):] for p in ptc_root.rglob("article*.txt"))
    return sorted(random.Random(SEED).sample(ids, round(len(ids) * HOLDOUT_SHARE)))


# The files written before batches were ranked apart: ranked together, as they always were.
FIRST_BATCH = ("written.jsonl", "written_2.jsonl", "written_3.jsonl")


def written_holdout(project_dir: Path) -> list[str]:
    batches: dict[str, set[str]] = {}
    for path in sorted(project_dir.glob("written*.jsonl")):
        batch = batches.setdefault("first" if path.name in FIRST_BATCH else path.name, set())
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                batch.add(f"written:{json.loads(line)['doc']}")
    held = []
    for docs in batches.values():
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
