"""Sentence-level evaluation: per-device precision / recall / F1, micro and
macro F1 over the 18 PTC techniques, and any-technique F1.

A sentence carries a device when one of its gold spans overlaps it, and is
predicted to carry it when the tagger puts a tag of that device on it. Only
sentences whose label for a device is known count for that device.

Any-technique F1 is given two ways: `any_technique` from the tagger's own
per-sentence decision (`Result.any_technique`: the model's dedicated 'any
technique' column), and `any_technique_union`, a sentence counting as
predicted when any device fires in it. A report made from device predictions
alone (no dedicated decision, e.g. the baseline) gives the union under both
keys; `any_technique_source` says which it is.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rhetoric.devices import DEVICE_IDS, PTC_DEVICE_IDS


@dataclass(frozen=True)
class Scores:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def to_dict(self) -> dict[str, Any]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "support": self.support, "tp": self.tp, "fp": self.fp, "fn": self.fn}


def count(gold: np.ndarray, pred: np.ndarray) -> Scores:
    """Counts over the rows whose gold label is known (not -1)."""
    known = gold >= 0
    g, p = gold[known] == 1, pred[known] == 1
    return Scores(int((g & p).sum()), int((~g & p).sum()), int((g & ~p).sum()))


def report(gold: np.ndarray, pred: np.ndarray, devices: Sequence[str] = DEVICE_IDS,
           any_pred: np.ndarray | None = None) -> dict[str, Any]:
    """Per-device scores for `devices` (columns of gold and pred), micro and
    macro F1 over the PTC techniques among them, and any-technique F1: from
    `any_pred` (0/1 per sentence, a dedicated decision) when given, and from
    the union of the device predictions."""
    per_device = {d: count(gold[:, j], pred[:, j]) for j, d in enumerate(devices)}
    ptc_cols = [j for j, d in enumerate(devices) if d in PTC_DEVICE_IDS]
    out: dict[str, Any] = {"devices": {d: s.to_dict() for d, s in per_device.items() if s.support or s.fp}}
    if ptc_cols:
        ptc_known = (gold[:, ptc_cols] >= 0).all(axis=1)
        micro = Scores(*(sum(getattr(per_device[devices[j]], k) for j in ptc_cols) for k in ("tp", "fp", "fn")))
        out["micro_f1"] = round(micro.f1, 4)
        out["macro_f1"] = round(float(np.mean([per_device[devices[j]].f1 for j in ptc_cols])), 4)
        any_gold = (gold[ptc_known][:, ptc_cols] == 1).any(axis=1).astype(int)
        union = count(any_gold, (pred[ptc_known][:, ptc_cols] == 1).any(axis=1).astype(int)).to_dict()
        out["any_technique"] = union if any_pred is None else count(any_gold, any_pred[ptc_known]).to_dict()
        out["any_technique_source"] = "union" if any_pred is None else "dedicated"
        out["any_technique_union"] = union
        out["sentences"] = int(ptc_known.sum())
    return out


def format_report(rep: dict[str, Any], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'device':28} {'P':>6} {'R':>6} {'F1':>6} {'support':>8}")
    for device, s in rep["devices"].items():
        lines.append(f"{device:28} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} {s['support']:8d}")
    if "micro_f1" in rep:
        lines.append(f"micro-F1 (18 techniques) {rep['micro_f1']:.3f}   macro-F1 {rep['macro_f1']:.3f}")
        shown = [("any_technique", "any-technique ('any' column)")]
        if rep.get("any_technique_source") != "dedicated":
            shown = [("any_technique_union", "any-technique (union of devices)")]
        elif "any_technique_union" in rep:
            shown.append(("any_technique_union", "any-technique (union of devices)"))
        for key, label in shown:
            a = rep[key]
            lines.append(f"{label:33} P {a['precision']:.3f} R {a['recall']:.3f} F1 {a['f1']:.3f}"
                         f"   ({rep['sentences']} sentences)")
    return "\n".join(lines)


def predictions(tagger: Any, docs: Sequence[Any]) -> np.ndarray:
    """0/1 per sentence and device (DEVICE_IDS columns) for labelled documents,
    tagged on their own sentence units, in batches."""
    return predictions_with_any(tagger, docs)[0]


def predictions_with_any(tagger: Any, docs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """`predictions`, and the tagger's any-technique decision per sentence (0/1)."""
    rows, any_rows = [], []
    batch = 64  # documents per tagging call: one predict_proba per batch
    for k in range(0, len(docs), batch):
        chunk = docs[k:k + batch]
        results = tagger.tag_sentences([(d.text, d.sentences) for d in chunk])
        for doc, result in zip(chunk, results, strict=True):
            pred = np.zeros((len(doc.sentences), len(DEVICE_IDS)), dtype=np.int8)
            for t in result.tags:
                pred[t.sentence, DEVICE_IDS.index(t.device)] = 1
            rows.append(pred)
            any_rows.append(np.array([a.fires for a in result.any_technique], dtype=np.int8))
    if not rows:
        return np.zeros((0, len(DEVICE_IDS)), dtype=np.int8), np.zeros(0, dtype=np.int8)
    return np.vstack(rows), np.concatenate(any_rows)


def evaluate_docs(tagger: Any, docs: Sequence[Any]) -> dict[str, Any]:
    gold = np.vstack([d.labels for d in docs])
    pred, any_pred = predictions_with_any(tagger, docs)
    return report(gold, pred, any_pred=any_pred)


def baseline_predictions(train_docs: Sequence[Any], test_docs: Sequence[Any],
                         devices: Sequence[str] = PTC_DEVICE_IDS) -> np.ndarray:
    """The reference point of the model card: a plain word + char TF-IDF
    logistic regression per device (balanced class weights, cut-off 0.5),
    trained on the same sentences as the model, no rules, no context.
    Returns 0/1 per test sentence in DEVICE_IDS columns (other devices 0)."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def texts(docs: Sequence[Any]) -> list[str]:
        return [d.text[s:e] for d in docs for s, e in d.sentences]

    # min_df=2 drops one-off n-grams; char_wb 2-5 is the usual range for short
    # text (both scikit-learn defaults otherwise).
    vectorizers = [TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                   TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)]
    train_text, test_text = texts(train_docs), texts(test_docs)
    X_train = sp.hstack([v.fit_transform(train_text) for v in vectorizers], format="csr")
    X_test = sp.hstack([v.transform(test_text) for v in vectorizers], format="csr")
    gold = np.vstack([d.labels for d in train_docs])
    pred = np.zeros((len(test_text), len(DEVICE_IDS)), dtype=np.int8)
    for device in devices:
        j = DEVICE_IDS.index(device)
        known = gold[:, j] >= 0
        y = gold[known, j]
        if y.min() == y.max():
            continue
        clf = LogisticRegression(class_weight="balanced", solver="liblinear").fit(X_train[known], y)
        pred[:, j] = clf.predict_proba(X_test)[:, 1] >= 0.5
    return pred
