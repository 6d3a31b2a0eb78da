"""Stage-2 learners compared on the same cached stage-2 designs (grouped CV).

    # once per fold seed: fit_model as `rhetoric train --char-ngrams` would, keep its designs
    PYTHONPATH=. python scripts/cv_stage2.py --ptc ../shared/data/ptc \\
        --project-data data/history_us_them --char-ngrams --cache /tmp/s2_seedNone.npz
    PYTHONPATH=. python scripts/cv_stage2.py ... --fold-seed 1 --cache /tmp/s2_seed1.npz
    # then any number of stage-2 variants on them, in minutes
    PYTHONPATH=. python scripts/cv_stage2.py --cache /tmp/s2_seedNone.npz --variants lr,gbm-any,blend-frequent-allcues

The stage-2 designs (stage-1 out-of-fold scores in their context views, the
shared cues and the span-lexicon cues) do not depend on the stage-2 learner,
so the first call (the slow one: the whole stage-1 CV) saves them, with the
labels and the document groups, to --cache; later calls read them and fit
only stage 2, each variant on the same folds (the fold seed is saved in the
cache). Protocol as scripts/cv_library.py: stage-2 out-of-fold probabilities
on fit_model's folds; thresholds cross-fitted (fold k cut at the threshold
fitted on the other folds' out-of-fold rows); figures pooled over all rows,
with mean ± sd over the folds. The baseline variant `lr` is fit_stage2 and
reproduces cv_library.py's figures.

The held-out documents (rhetoric/data/holdout.txt) are never read, and the
rules mined from PTC are left out as cv_library.py does.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv_library  # noqa: E402  (scripts/ is on sys.path when run as a script)

import rhetoric.train as train_module  # noqa: E402
from rhetoric.context import Design  # noqa: E402
from rhetoric.devices import DEVICE_IDS  # noqa: E402
from rhetoric.rules import RuleSet  # noqa: E402
from rhetoric.train import UNKNOWN, Sources, TrainingConfig, fit_model, fit_stage2, grouped_folds  # noqa: E402

# cv_library remembers every stage-1 fit across configurations; one
# configuration here, so the plain fit (and less memory).
train_module._fit_binary = cv_library._original_fit  # type: ignore[assignment]


def build_cache(args: argparse.Namespace, path: Path) -> None:
    # stage2_trees=(): the designs do not depend on it, and the fit is faster
    config = TrainingConfig(char_ngrams=args.char_ngrams, fold_seed=args.fold_seed, stage2_trees=())
    rules = RuleSet.load()
    rules = RuleSet([d for d in rules.definitions if not d.id.endswith(".mined")])
    sources = Sources(Path(args.ptc), Path(args.project_data) if args.project_data else None)
    docs = train_module.labelled_documents(sources, held_out=False)
    start = time.time()
    model = fit_model(docs, rules, config)
    labels, oof, groups = model.training_oof_
    designs: Design = model.training_designs_
    np.savez(path, matrix=designs.matrix, labels=labels, oof=oof, groups=groups.astype(str),
             fold_seed=np.array(-1 if args.fold_seed is None else args.fold_seed),
             config=np.array(json.dumps(vars(config))),
             **{f"columns.{j}": c for j, c in enumerate(designs.columns)})
    print(f"# cached {path} ({time.time() - start:.0f}s)", flush=True)


def load_cache(path: Path) -> tuple[Design, np.ndarray, np.ndarray, np.ndarray, TrainingConfig]:
    with np.load(path, allow_pickle=False) as z:
        k = len([n for n in z.files if n.startswith("columns.")])
        design = Design(z["matrix"], [z[f"columns.{j}"] for j in range(k)])
        config = TrainingConfig(**json.loads(str(z["config"])))
        return design, z["labels"], z["oof"], z["groups"], config


# -- variants -------------------------------------------------------------------------

Variant = Callable[[Design, np.ndarray, list[tuple[np.ndarray, np.ndarray]], TrainingConfig], np.ndarray]


def lr(design: Design, labels: np.ndarray, folds: list[Any], config: TrainingConfig) -> np.ndarray:
    """The stage-2 logistic regression alone (stage2_trees=(): the model
    before stage-2 trees, whatever TrainingConfig's default)."""
    return fit_stage2(design, labels, folds, TrainingConfig(**{**vars(config), "stage2_trees": ()}), DEVICE_IDS)[1]


# HistGradientBoostingClassifier settings (--gbm JSON overrides them). No
# early stopping: it holds out a random 10% of rows, not grouped by document.
GBM: dict[str, Any] = {"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 15, "min_samples_leaf": 40,
                       "l2_regularization": 1.0, "early_stopping": False, "random_state": 0}
# The columns a variant gives a GBM ("frequent": the PTC techniques with the
# most positive sentences, and 'any').
FREQUENT = ["loaded_language", "name_calling", "doubt", "exaggeration_minimisation", "repetition",
            "appeal_to_fear_prejudice", "flag_waving"]


def _columns(which: str) -> list[int]:
    names = [*DEVICE_IDS, "any"]
    if which == "any":
        return [len(names) - 1]
    if which == "frequent":
        return [names.index(d) for d in FREQUENT] + [len(names) - 1]
    return list(range(len(names)))


def _gbm_fit_predict(Z_train: np.ndarray, y: np.ndarray, Z_test: np.ndarray) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier

    if y.min() == y.max():
        return np.full(len(Z_test), float(y.max()))
    clf = HistGradientBoostingClassifier(**GBM).fit(Z_train, y)
    proba: np.ndarray = clf.predict_proba(Z_test)[:, 1]
    return proba


def _features(design: Design, j: int, view: str) -> np.ndarray:
    return design.matrix if view == "all" else design[j]


def gbm_oof(design: Design, labels: np.ndarray, folds: list[Any], columns: list[int], view: str) -> np.ndarray:
    """GBM out-of-fold probabilities of the given columns (NaN elsewhere)."""
    oof = np.full(labels.shape, np.nan)
    for j in columns:
        Z = _features(design, j, view)
        known = labels[:, j] != UNKNOWN
        for train_idx, test_idx in folds:
            tr, te = train_idx[known[train_idx]], test_idx[known[test_idx]]
            oof[te, j] = _gbm_fit_predict(Z[tr], labels[tr, j], Z[te])
    return oof


def replace(which: str, view: str = "own") -> Variant:
    """The LR's out-of-fold probabilities, with the GBM's in `which` columns."""
    def run(design: Design, labels: np.ndarray, folds: list[Any], config: TrainingConfig) -> np.ndarray:
        oof = lr(design, labels, folds, config)
        cols = _columns(which)
        oof[:, cols] = gbm_oof(design, labels, folds, cols, view)[:, cols]
        return oof
    return run


def lr_all(which: str, view: str = "all") -> Variant:
    """A control for -allcues: the same logistic regression as fit_stage2 but
    over the whole stage-2 matrix in `which` columns (is it the trees, or
    just the other columns' scores?)."""
    def run(design: Design, labels: np.ndarray, folds: list[Any], config: TrainingConfig) -> np.ndarray:
        oof = lr(design, labels, folds, config)
        cols = _columns(which)
        config = TrainingConfig(**{**vars(config), "stage2_trees": ()})  # the regression alone
        wide = Design(design.matrix, [np.arange(design.matrix.shape[1])] * len(design.columns))
        full = fit_stage2(wide, labels, folds, config, DEVICE_IDS)[1] if len(cols) > 1 else None
        if full is None:  # one column: fit that one only
            sub = Design(design.matrix, [np.arange(design.matrix.shape[1])])
            full = np.full(labels.shape, np.nan)
            full[:, cols] = fit_stage2(sub, labels[:, cols], folds, config, [])[1]
        oof[:, cols] = full[:, cols]
        return oof
    return run


def blend(which: str, view: str = "own", weight: float = 0.5) -> Variant:
    """The mean of the LR's and the GBM's probabilities in `which` columns."""
    def run(design: Design, labels: np.ndarray, folds: list[Any], config: TrainingConfig) -> np.ndarray:
        oof = lr(design, labels, folds, config)
        cols = _columns(which)
        oof[:, cols] = (1 - weight) * oof[:, cols] + weight * gbm_oof(design, labels, folds, cols, view)[:, cols]
        return oof
    return run


def stack(which: str, view: str = "own") -> Variant:
    """The LR over its design plus the GBM's logit as one more input, in
    `which` columns. Nested: in outer fold k, the training rows' GBM input is
    out-of-fold within the other folds (inner folds = the outer folds less
    k), and fold k's rows get the GBM fitted on all the other folds, so fold
    k's labels reach neither its LR nor its GBM input."""
    def run(design: Design, labels: np.ndarray, folds: list[Any], config: TrainingConfig) -> np.ndarray:
        oof = lr(design, labels, folds, config)
        C = config.stage2_C
        for j in _columns(which):
            Z = _features(design, j, view)
            known = labels[:, j] != UNKNOWN
            for k, (train_idx, test_idx) in enumerate(folds):
                tr, te = train_idx[known[train_idx]], test_idx[known[test_idx]]
                g_tr = np.zeros(len(tr))
                pos = {r: i for i, r in enumerate(tr)}
                for m, (_, inner_te) in enumerate(folds):
                    if m == k:
                        continue
                    inner_te = inner_te[known[inner_te]]
                    inner_tr = np.setdiff1d(tr, inner_te)
                    g_tr[[pos[r] for r in inner_te]] = _gbm_fit_predict(Z[inner_tr], labels[inner_tr, j],
                                                                        Z[inner_te])
                g_te = _gbm_fit_predict(Z[tr], labels[tr, j], Z[te])
                base = design[j]
                W_tr = np.column_stack([base[tr], _logit(g_tr)])
                W_te = np.column_stack([base[te], _logit(g_te)])
                mean, scale = W_tr.mean(0), W_tr.std(0) + 1e-6
                w, b = cv_library._original_fit((W_tr - mean) / scale, labels[tr, j], C, None, "lbfgs")
                oof[te, j] = 1 / (1 + np.exp(-(((W_te - mean) / scale) @ w + b)))
        return oof
    return run


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)  # 1e-6: finite logits for a GBM sure of itself
    return np.log(q / (1 - q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True, help="the designs file (.npz): built when missing")
    ap.add_argument("--ptc", help="PTC folder, to build the cache")
    ap.add_argument("--project-data", help="the project's labels, to build the cache")
    ap.add_argument("--char-ngrams", action="store_true", help="stage 1 with character n-grams (shipped)")
    ap.add_argument("--fold-seed", type=int, default=None, help="TrainingConfig.fold_seed for the cache")
    ap.add_argument("--variants", default="", help="comma-separated variant names (see variant())")
    ap.add_argument("--gbm", default="{}", help="JSON overrides of GBM (HistGradientBoostingClassifier settings)")
    ap.add_argument("--config", default="{}", help="JSON TrainingConfig overrides for the variant `lib`")
    ap.add_argument("--json", help="append the figures to this JSON file (keyed by cache and variant)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    GBM.update(json.loads(args.gbm))
    LIBRARY_OVERRIDES.update(json.loads(args.config))
    path = Path(args.cache)
    if not path.exists():
        build_cache(args, path)
    design, labels, base_oof, groups, config = load_cache(path)
    folds = grouped_folds(groups, config.folds, config.fold_seed)
    print(f"# {path}: {len(labels)} rows, fold seed {config.fold_seed}, design {design.matrix.shape}", flush=True)
    results = json.loads(Path(args.json).read_text()) if args.json and Path(args.json).exists() else {}
    for name in [v for v in args.variants.split(",") if v]:
        start = time.time()
        oof = variant(name)(design, labels, folds, config)
        pred = cv_library.cross_fitted(labels, oof, folds, config)
        out = cv_library.summary(cv_library.figures(labels, pred),
                                 [cv_library.figures(labels[te], pred[te]) for _, te in folds], start, config)
        out["per_fold"]["macro"] = [round(float(cv_library.figures(labels[te], pred[te])["macro"]), 4)
                                    for _, te in folds]
        out["gbm"] = dict(GBM)
        print(cv_library.row(name, out), f"<!-- {out['seconds']}s -->", flush=True)
        results[f"{path.name}:{name}:{args.gbm}:{args.config}"] = out
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")


def library(overrides: dict[str, Any]) -> Variant:
    """The library's own stage 2 (rhetoric.train.fit_stage2) with TrainingConfig overrides (--config)."""
    def run(design: Design, labels: np.ndarray, folds: list[Any], config: TrainingConfig) -> np.ndarray:
        return fit_stage2(design, labels, folds, TrainingConfig(**{**vars(config), **overrides}), DEVICE_IDS)[1]
    return run


LIBRARY_OVERRIDES: dict[str, Any] = {}


def variant(name: str) -> Variant:
    """`lr`; `lib` (fit_stage2 with the --config overrides); or
    KIND-COLUMNS[-allcues]: KIND gbm (the GBM replaces the LR), blend (their
    mean), stack (the GBM's logit one more LR input) or lrall (the LR over the
    whole matrix, a control); COLUMNS any, frequent or all; -allcues: the GBM
    sees the whole stage-2 matrix (all columns' score views), not just the
    LR's design of that column."""
    if name == "lr":
        return lr
    if name == "lib":
        return library(LIBRARY_OVERRIDES)
    kind, which, *rest = name.split("-")
    view = "all" if rest == ["allcues"] else "own"
    return {"gbm": replace, "blend": blend, "stack": stack, "lrall": lr_all}[kind](which, view)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
