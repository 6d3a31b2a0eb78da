"""Learning curve of the project devices (appeal_to_history, us_vs_them):
held-out F1 against the share of labelled training documents.

    PYTHONPATH=. python scripts/learning_curve.py --ptc ../shared/data/ptc \\
        --project-data data/history_us_them [--fractions 0.25,0.5,1] [--repeats 2] [--char-ngrams]

Protocol. The labelled documents that are not held out (the held-out ones are
never read) are split into five folds by document (GroupKFold). For each
fold, a model is fitted by `rhetoric.train.fit_model` exactly as `rhetoric
train` fits one (its own inner CV sets the thresholds) on a random share of
the other four folds' documents, drawn by document, and the fold is tagged
with that model. Every fraction is scored on the same rows: all five folds,
pooled, split into PTC sentences and the project's written ones. Fractions
below 1 are drawn `--repeats` times with different seeds and averaged.

What it answers: how much F1 another batch of labelled documents would buy,
so whether labelling more can reach a target. The slope per doubling of the
data is printed at the end.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rhetoric.train as train  # noqa: E402
from rhetoric.devices import DEVICE_IDS  # noqa: E402
from rhetoric.evaluate import count  # noqa: E402
from rhetoric.rules import RuleSet  # noqa: E402


def tagged_folds(docs: list, rules: RuleSet, config: train.TrainingConfig, fraction: float,
                 seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gold labels, predictions and a written-row mask over all folds' rows,
    each fold tagged by a model fitted on `fraction` of the other folds' documents."""
    rng = np.random.default_rng(seed)
    gold, pred, written = [], [], []
    for train_idx, test_idx in train.grouped_folds(np.array([d.id for d in docs]), 5):
        keep = np.sort(rng.choice(train_idx, max(1, round(len(train_idx) * fraction)), replace=False))
        model = train.fit_model([docs[i] for i in keep], rules, config)
        test = [docs[i] for i in test_idx]
        inputs = train.document_inputs(test, rules)
        proba = model.predict_proba(model.features.transform(inputs), inputs)
        gold.append(train.column_labels(test, DEVICE_IDS))
        pred.append((proba[:, :len(DEVICE_IDS)] >= model.thresholds[:len(DEVICE_IDS)]).astype(np.int8))
        written.append(np.concatenate([[d.id.startswith("written:")] * len(d.sentences) for d in test]))
    return np.vstack(gold), np.vstack(pred), np.concatenate(written)


def f1_by_part(gold: np.ndarray, pred: np.ndarray, written: np.ndarray) -> dict[str, float]:
    out = {}
    for device in train.PROJECT_DEVICES:
        j = DEVICE_IDS.index(device)
        for part, rows in (("ptc", ~written), ("written", written), ("all", np.ones_like(written))):
            out[f"{device}/{part}"] = count(gold[rows, j], pred[rows, j]).f1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ptc", required=True)
    ap.add_argument("--project-data", required=True)
    ap.add_argument("--fractions", default="0.25,0.5,1")
    ap.add_argument("--repeats", type=int, default=2, help="draws of each fraction below 1")
    ap.add_argument("--char-ngrams", action="store_true", help="the shipped configuration (slower)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rules = RuleSet.load()
    # Rules mined from PTC were mined on these articles: left out, as in scripts/cv_library.py.
    rules = RuleSet([d for d in rules.definitions if not d.id.endswith(".mined")])
    config = train.TrainingConfig(char_ngrams=args.char_ngrams)
    docs = train.labelled_documents(train.Sources(Path(args.ptc), Path(args.project_data)), held_out=False)
    print(f"# {len(docs)} documents, {sum(len(d.sentences) for d in docs)} sentences", flush=True)
    columns = [f"{d}/{p}" for d in train.PROJECT_DEVICES for p in ("ptc", "written", "all")]
    print("| fraction | " + " | ".join(columns) + " |\n" + "|---" * (len(columns) + 1) + "|", flush=True)
    results: dict[str, dict[str, float]] = {}
    for fraction in (float(f) for f in args.fractions.split(",")):
        start = time.time()
        runs = [f1_by_part(*tagged_folds(docs, rules, config, fraction, seed))
                for seed in range(1 if fraction >= 1 else args.repeats)]
        results[str(fraction)] = {k: float(np.mean([r[k] for r in runs])) for k in columns}
        print(f"| {fraction:g} | " + " | ".join(f"{results[str(fraction)][k]:.3f}" for k in columns)
              + f" | <!-- {time.time() - start:.0f}s -->", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    fractions = sorted(float(f) for f in results)
    if len(fractions) > 1:  # least-squares slope of F1 on log2(fraction): F1 gained per doubling
        x = np.log2(fractions)
        for k in columns:
            y = np.array([results[str(f)][k] for f in fractions])
            print(f"# {k}: {np.polyfit(x, y, 1)[0]:+.3f} F1 per doubling of the labelled documents")


if __name__ == "__main__":
    main()
