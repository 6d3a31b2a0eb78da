"""Project devices' out-of-fold F1 of several cv_library.py runs, scored on
the same rows: those labelled in the first (reference) dump. Used to compare
training sets whose labelled rows or documents differ (a run with more
labelled rows or more documents is still scored only on the rows every run
has, matched by document and sentence start), split into PTC and written
sentences; and, apart, on the rows only that run has labels for.

    PYTHONPATH=. python scripts/cv_library.py --ptc ../shared/data/ptc \\
        --project-data OLD_DATA --project-data data/history_us_them --configs "" \\
        --set 'default={}' --dump-oof /tmp/oof
    PYTHONPATH=. python scripts/compare_oof.py /tmp/oof/default___OLD_DATA_.npz /tmp/oof/*.npz

Predictions are the dumps' cross-fitted ones (each fold cut with thresholds
tuned on the other folds), as cv_library.py scores them; the folds are the
same in every run when the documents are (cv_library groups by document).
"""
import sys

import numpy as np

from rhetoric.evaluate import count

DEVICES = ("appeal_to_history", "us_vs_them")


def f1(gold: np.ndarray, pred: np.ndarray) -> float:
    return count(gold, pred).f1


def main(reference: str, runs: list[str]) -> None:
    ref = np.load(reference)
    columns = list(ref["columns"])
    written = np.char.startswith(ref["doc"].astype(str), "written:")
    ref_keys = list(zip(ref["doc"].tolist(), ref["start"].tolist(), strict=True))
    parts = ("all", "PTC", "written", "rows only this run has")
    print("| run | " + " | ".join(f"{d} {part}" for d in DEVICES for part in parts) + " |")
    print("|---|" + "---|" * 8)
    for path in runs:
        run = np.load(path)
        # A run over more documents (or fewer) is aligned to the reference by
        # (document, sentence start); its other rows are scored apart.
        at = {key: i for i, key in enumerate(zip(run["doc"].tolist(), run["start"].tolist(), strict=True))}
        missing = [key for key in ref_keys if key not in at]
        if missing:
            raise SystemExit(f"{path}: lacks {len(missing)} sentences of {reference}, e.g. {missing[0]}")
        index = np.array([at[key] for key in ref_keys], dtype=np.int64)
        others = np.setdiff1d(np.arange(len(run["doc"])), index)
        cells = []
        for device in DEVICES:
            j = columns.index(device)
            run_labels, pred = run["labels"][index, j], run["pred"][index, j]
            rows = (ref["labels"][:, j] >= 0) & (run_labels >= 0)
            if not np.array_equal(ref["labels"][rows, j], run_labels[rows]):
                raise SystemExit(f"{path}: {device} labels differ from {reference} on shared rows")
            gold = ref["labels"][:, j]
            cells += [f"{f1(gold[m], pred[m]):.3f}" for m in (rows, rows & ~written, rows & written)]
            extra = np.concatenate([index[(run_labels >= 0) & (gold < 0)], others[run["labels"][others, j] >= 0]])
            cells.append(f"{f1(run['labels'][extra, j], run['pred'][extra, j]):.3f} ({len(extra)})"
                         if len(extra) else "–")
        print(f"| {path} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
