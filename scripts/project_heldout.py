"""appeal_to_history / us_vs_them on the held-out part, split into PTC
sentences and the project's written ones, these also by batch of writing
(the files of sessions 1-3, then each later file; see scripts/make_holdout.py).
The pooled figures are those of `rhetoric evaluate --project-data`.

    PYTHONPATH=. python scripts/project_heldout.py [--model DIR] [--first-only]

--first-only scores against the first annotator's labels instead of the
majority of the passes (data/history_us_them/DATA_CARD.md), to compare with
figures from before the passes.
"""
import argparse
from pathlib import Path

import numpy as np

from rhetoric.devices import DEVICE_IDS
from rhetoric.evaluate import count, predictions
from rhetoric.tagger import Tagger
from rhetoric.train import (
    PROJECT_DEVICES,
    SHORT_WRITTEN_BATCH,
    add_project_labels,
    holdout_ids,
    ptc_documents,
    written_batches,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ptc", default="../shared/data/ptc")
    ap.add_argument("--project-data", default="data/history_us_them")
    ap.add_argument("--model", help="model folder (default: the shipped model)")
    ap.add_argument("--first-only", action="store_true", help="score against the first labels")
    args = ap.parse_args()
    tagger = Tagger.load(args.model)
    held_out = holdout_ids()
    docs = [d for d in ptc_documents(args.ptc) if d.id in held_out]
    docs = [d for d in add_project_labels(docs, args.project_data, args.first_only)
            if not d.id.startswith("written:") or d.id in held_out]
    pred = predictions(tagger, docs)
    gold = np.vstack([d.labels for d in docs])
    batch_of = written_batches(Path(args.project_data))
    source = np.concatenate([[batch_of.get(d.id, "PTC")] * len(d.sentences) for d in docs])
    written = source != "PTC"
    parts = [("PTC", ~written), ("written", written)]
    batches = sorted(set(source[written]))
    if len(batches) > 1:
        parts += [(f"{name}", source == name) for name in batches]
        later = [name for name in batches if name != SHORT_WRITTEN_BATCH]
        if len(later) > 1:  # the long documents of session 5, pooled
            parts.append((f"{later[0]} to {later[-1].split()[-1]}", np.isin(source, later)))
    print("| device | part | sentences | positives | P | R | F1 |\n|---|---|---|---|---|---|---|")
    for device in PROJECT_DEVICES:
        j = DEVICE_IDS.index(device)
        for part, rows in (*parts, ("all", np.ones_like(written))):
            scores = count(gold[rows, j], pred[rows, j])
            known = int((gold[rows, j] >= 0).sum())
            print(f"| {device} | {part} | {known} | {scores.support} | {scores.precision:.3f} | "
                  f"{scores.recall:.3f} | {scores.f1:.3f} |")


if __name__ == "__main__":
    main()
