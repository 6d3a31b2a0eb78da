"""Grouped cross-validation of the library's own training (rhetoric.train.fit_model).

    PYTHONPATH=. python scripts/cv_library.py --ptc ../shared/data/ptc \\
        --project-data data/history_us_them --json cv_library.json

Protocol. The PTC train+dev articles that are not held out
(rhetoric/data/holdout.txt; the held-out documents are never read), with the
project's labels when --project-data is given. For each configuration,
fit_model runs as `rhetoric train` would (word n-grams only, char_ngrams=False,
to keep a run to about ten minutes; --char-ngrams for the shipped
configuration, about four minutes a fit) and keeps its stage-2 out-of-fold
probabilities (5 folds grouped by document). Thresholds are cross-fitted:
fold k's rows are cut with best_threshold fitted on the other folds'
out-of-fold rows, so no row's label sets its own threshold. Figures are
pooled over all rows (mean and sd over the five folds beside them).

With --nested, each configuration is also measured the way a shipped model
meets new text: fit_model on four folds' documents (its own inner CV tunes
the thresholds and mines the lexicon), then the fifth fold scored with that
model's probabilities and thresholds. Slower (five fits), but no row's label
reaches its own prediction by any path, not even through the stage-2 or
lexicon fits of the other folds.

The rules mined from PTC (`*.mined`) were mined on these articles, so they
are left out of the rule features here by default (--with-mined-rules keeps
them): they would lend every configuration the same leak.

Ad-hoc configurations: --set 'NAME={"project_C": 0.3}' (TrainingConfig
overrides as JSON, repeatable). A configuration that differs from an earlier
one of the same run only in its stage-2 C or the 'any' threshold cap
(STAGE2_ONLY) refits stage 2 on that run's designs, in seconds.

One configuration at a time, one process: the machine is shared.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rhetoric.train as train_module  # noqa: E402
from rhetoric.devices import DEVICE_IDS  # noqa: E402
from rhetoric.evaluate import report  # noqa: E402
from rhetoric.rules import RuleSet  # noqa: E402
from rhetoric.train import (  # noqa: E402
    PROJECT_DEVICES,
    UNKNOWN,
    Sources,
    TrainingConfig,
    best_threshold,
    column_labels,
    document_inputs,
    fit_model,
    fit_stage2,
    grouped_folds,
    labelled_documents,
    threshold_cap,
)

# Each configuration is TrainingConfig(**BASE, **overrides); BASE is word
# n-grams only unless --char-ngrams (the shipped configuration) is given.
BASE: dict[str, Any] = {"char_ngrams": False}
CONFIGS: dict[str, dict[str, Any]] = {
    "current (no lexicon)": {"span_lexicon": False},
    "lexicon": {"span_lexicon": True, "lexicon_sentence_labels": True},
    "lexicon (project columns 0)": {"span_lexicon": True, "lexicon_sentence_labels": False},
}


def cross_fitted(labels: np.ndarray, oof: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                 config: TrainingConfig | None = None) -> np.ndarray:
    """0/1 per row and column: fold k's rows cut at the threshold fitted on the other folds."""
    config = config or TrainingConfig()
    names = [*DEVICE_IDS, "any"]
    pred = np.zeros(labels.shape, dtype=np.int8)
    for train_idx, test_idx in folds:
        for j in range(labels.shape[1]):
            known = train_idx[labels[train_idx, j] != UNKNOWN]
            cut = best_threshold(labels[known, j], oof[known, j], threshold_cap(config, names[j]))
            pred[test_idx, j] = np.nan_to_num(oof[test_idx, j], nan=-1.0) >= cut
    return pred


def figures(labels: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    rep = report(labels[:, :-1], pred[:, :-1], DEVICE_IDS, any_pred=pred[:, -1])
    return {"micro": rep["micro_f1"], "macro": rep["macro_f1"], "any_union": rep["any_technique_union"]["f1"],
            "any_dedicated": rep["any_technique"]["f1"],
            "devices": {d: s["f1"] for d, s in rep["devices"].items()}}


# Stage-1 fits remembered across the configurations of a run: a configuration
# that changes only the project devices' stage 1 (project_C, written_weight,
# project_char_ngrams) refits those two columns and takes every other column's
# fit, identical, from the earlier run. Keyed by the rows, labels, weights and
# settings of the fit.
_FITS: dict[bytes, tuple[np.ndarray, float]] = {}


def _fit_key(X: Any, y: np.ndarray, C: float, class_weight: str | None, solver: str,
             sample_weight: np.ndarray | None) -> bytes:
    h = hashlib.blake2b(repr((X.shape, getattr(X, "nnz", None), C, class_weight, solver)).encode())
    parts = (X.indptr, X.indices, X.data) if hasattr(X, "indptr") else (np.ascontiguousarray(X),)
    for a in (*parts, y, np.zeros(0) if sample_weight is None else sample_weight):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.digest()


def _remembered_fit(X: Any, y: np.ndarray, C: float, class_weight: str | None, solver: str,
                    sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    if solver != "liblinear":  # stage 2: small, refitted every time
        return _original_fit(X, y, C, class_weight, solver, sample_weight)
    key = _fit_key(X, y, C, class_weight, solver, sample_weight)
    if key not in _FITS:
        w, b = _original_fit(X, y, C, class_weight, solver, sample_weight)
        _FITS[key] = (w, b)
    w, b = _FITS[key]
    return w.copy(), b


_original_fit = train_module._fit_binary
train_module._fit_binary = _remembered_fit  # type: ignore[assignment]  # fit_stage1 looks it up at call time


# Options that leave stage 1 (and the stage-2 designs) as they are: a
# configuration that differs from an earlier one only in these refits stage 2
# on that run's designs instead of fitting everything again.
STAGE2_ONLY = ("stage2_C", "stage2_C_project", "stage2_C_any", "any_threshold_cap")
_DESIGNS: dict[str, tuple[Any, np.ndarray, np.ndarray]] = {}


def evaluate(name: str, docs: list[Any], rules: RuleSet, overrides: dict[str, Any],
             data_key: str = "", dump: Path | None = None) -> dict[str, Any]:
    config = TrainingConfig(**{**BASE, **overrides})
    start = time.time()
    key = data_key + json.dumps({k: v for k, v in vars(config).items() if k not in STAGE2_ONLY}, sort_keys=True)
    model = None
    if key in _DESIGNS:
        designs, labels, groups = _DESIGNS[key]
        folds = grouped_folds(groups, config.folds, config.fold_seed)
        _, oof = fit_stage2(designs, labels, folds, config, DEVICE_IDS)
    else:
        model = fit_model(docs, rules, config)
        labels, oof, groups = model.training_oof_
        folds = grouped_folds(groups, config.folds, config.fold_seed)
        if model.training_designs_ is not None:
            _DESIGNS[key] = (model.training_designs_, labels, groups)
    pred = cross_fitted(labels, oof, folds, config)
    if dump is not None:
        dump_oof(dump, name, docs, labels, oof, pred, folds, model)
    return summary(figures(labels, pred), [figures(labels[te], pred[te]) for _, te in folds], start, config)


def dump_oof(folder: Path, name: str, docs: list[Any], labels: np.ndarray, oof: np.ndarray, pred: np.ndarray,
             folds: list[tuple[np.ndarray, np.ndarray]], model: Any) -> None:
    """For error analysis: each row's document id, sentence offsets, labels,
    out-of-fold probabilities, cross-fitted predictions and fold (no text), and,
    when the configuration was fitted here, the project devices' strongest
    stage-1 weights of the model fitted on all rows."""
    folder.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "_" for c in name)
    fold = np.zeros(len(labels), dtype=np.int8)
    for k, (_, test_idx) in enumerate(folds):
        fold[test_idx] = k
    spans = np.array([s for d in docs for s in d.sentences], dtype=np.int64)
    np.savez_compressed(folder / f"{slug}.npz", doc=np.array([d.id for d in docs for _ in d.sentences]),
                        start=spans[:, 0], end=spans[:, 1], labels=labels, oof=oof, pred=pred, fold=fold,
                        columns=np.array([*DEVICE_IDS, "any"]))
    if model is not None:
        names = model.features.feature_names()
        weights = {}
        for device in PROJECT_DEVICES:
            w = model.coef[DEVICE_IDS.index(device)]
            order = np.argsort(w)
            weights[device] = {"top": [(names[i], round(float(w[i]), 3)) for i in order[::-1][:150]],
                               "bottom": [(names[i], round(float(w[i]), 3)) for i in order[:60]]}
        (folder / f"{slug}.weights.json").write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")


def summary(out: dict[str, Any], per_fold: list[dict[str, Any]], start: float,
            config: TrainingConfig) -> dict[str, Any]:
    """The pooled figures with each one's mean and sd over the folds, the run time and the config."""
    for key in ("micro", "macro", "any_union", "any_dedicated"):
        values = [f[key] for f in per_fold]
        out[f"{key}_folds"] = [round(float(np.mean(values)), 4), round(float(np.std(values)), 4)]
    for device in PROJECT_DEVICES:  # the project devices' F1 over the folds, too
        values = [f["devices"].get(device, 0.0) for f in per_fold]
        out[f"{device}_folds"] = [round(float(np.mean(values)), 4), round(float(np.std(values)), 4)]
    # each fold's figures, for paired differences between configurations
    out["per_fold"] = {key: [round(float(f[key]), 4) for f in per_fold] for key in ("micro", "any_dedicated")}
    out["per_fold"].update({d: [round(float(f["devices"].get(d, 0.0)), 4) for f in per_fold]
                            for d in PROJECT_DEVICES})
    out["seconds"] = round(time.time() - start, 1)
    out["config"] = vars(config)
    return out


def evaluate_nested(docs: list[Any], rules: RuleSet, overrides: dict[str, Any]) -> dict[str, Any]:
    config = TrainingConfig(**{**BASE, **overrides})
    start = time.time()
    labels, preds, per_fold = [], [], []
    for train_idx, test_idx in grouped_folds(np.array([d.id for d in docs]), config.folds, config.fold_seed):
        model = fit_model([docs[i] for i in train_idx], rules, config)
        test = [docs[i] for i in test_idx]
        inputs = document_inputs(test, rules)
        proba = model.predict_proba(model.features.transform(inputs), inputs)
        labels.append(column_labels(test, DEVICE_IDS))
        preds.append((proba >= model.thresholds).astype(np.int8))
        per_fold.append(figures(labels[-1], preds[-1]))
    return summary(figures(np.vstack(labels), np.vstack(preds)), per_fold, start, config)


def row(name: str, r: dict[str, Any]) -> str:
    cells = [f"{r[k]:.3f} ({r[k + '_folds'][0]:.3f} ± {r[k + '_folds'][1]:.3f})"
             for k in ("micro", "macro", "any_union", "any_dedicated")]
    extra = [f"{r['devices'].get(d, 0.0):.3f}" + (f" ({r[d + '_folds'][0]:.3f} ± {r[d + '_folds'][1]:.3f})"
                                                   if d + "_folds" in r else "") for d in PROJECT_DEVICES]
    return f"| {name} | " + " | ".join(cells + extra) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ptc", required=True, help="PTC folder (train/ and dev/ inside)")
    ap.add_argument("--project-data", action="append", default=[],
                    help="the project's appeal_to_history / us_vs_them labels (repeatable: every "
                         "configuration runs on each folder in turn, the PTC columns' stage-1 fits shared)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names from CONFIGS")
    ap.add_argument("--char-ngrams", action="store_true",
                    help="character n-grams at stage 1, as the shipped model (`rhetoric train --char-ngrams`)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                    help="an ad-hoc configuration: NAME=JSON overrides of TrainingConfig, e.g. "
                         "'project C 0.3={\"project_C\": 0.3}' (repeatable; run after --configs)")
    ap.add_argument("--with-mined-rules", action="store_true", help="keep the rules mined from PTC")
    ap.add_argument("--nested", action="store_true", help="measure by nested CV instead (five fits each)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--fold-seed", type=int,
                    help="shuffle the documents into folds with this seed (TrainingConfig.fold_seed): "
                         "a second partition to check a difference on")
    ap.add_argument("--dump-oof", type=Path,
                    help="write each configuration's out-of-fold rows (ids, offsets, labels, probabilities; "
                         "no text) and the project devices' top stage-1 weights into this folder")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.char_ngrams:
        BASE["char_ngrams"] = True
    configs = {name: CONFIGS[name] for name in args.configs.split(",") if name}
    for item in args.set:
        name, _, overrides = item.partition("=")
        configs[name] = json.loads(overrides)
    rules = RuleSet.load()
    if not args.with_mined_rules:
        rules = RuleSet([d for d in rules.definitions if not d.id.endswith(".mined")])
    if args.fold_seed is not None:
        BASE["fold_seed"] = args.fold_seed
    print("| configuration | micro-F1 | macro-F1 | any (union) | any (dedicated) | appeal_to_history F1 | "
          "us_vs_them F1 |\n|---|---|---|---|---|---|---|", flush=True)
    results = {}
    for project in args.project_data or [None]:
        sources = Sources(Path(args.ptc), Path(project) if project else None)
        docs = labelled_documents(sources, held_out=False)
        print(f"# {project}: {len(docs)} documents, {sum(len(d.sentences) for d in docs)} sentences", flush=True)
        for name, overrides in configs.items():
            label = f"{name} [{project}]" if len(args.project_data) > 1 else name
            if args.nested:
                results[label] = evaluate_nested(docs, rules, overrides)
            else:
                results[label] = evaluate(label, docs, rules, overrides, str(project), args.dump_oof)
            print(row(label, results[label]), f"<!-- {results[label]['seconds']}s -->", flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
