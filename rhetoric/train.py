"""Building the training set, fitting the model, tuning thresholds.

Every labelled sentence carries a label per device: 1, 0, or -1 (unknown).
PTC sentences know the 18 PTC techniques; the project's own labels add
appeal_to_history and us_vs_them for the sentences that were labelled; the
SemEval memes know the techniques they share with PTC. Each device's
classifier is fitted on the rows that know it, and its threshold is tuned on
out-of-fold probabilities from cross-validation grouped by document.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rhetoric import span_lexicon
from rhetoric.context import Design
from rhetoric.corpus import Document, Span, read_ptc, read_semeval_memes, sentence_labels
from rhetoric.devices import DEVICE_IDS, PTC_DEVICE_IDS
from rhetoric.features import CharNgrams, DocumentInput, FeatureSpace, GroupCues, RuleHits, Shape, WordNgrams
from rhetoric.model import Model, Stage2
from rhetoric.rules import RuleSet
from rhetoric.span_lexicon import SpanLexicon

log = logging.getLogger(__name__)

PROJECT_DEVICES = ("appeal_to_history", "us_vs_them")
UNKNOWN = -1


@dataclass
class LabelledDoc:
    id: str      # document id: PTC article id, "meme<ID>", or a written doc id
    text: str
    sentences: list[tuple[int, int]]
    labels: np.ndarray  # (n_sentences, len(DEVICE_IDS)) int8: 1, 0 or UNKNOWN
    # Gold spans of the PTC techniques (offsets into text), when the corpus has
    # them (PTC, memes); None for sentence-level labels only. Read by the span
    # lexicon (rhetoric/span_lexicon.py).
    spans: tuple[Span, ...] | None = None


@dataclass
class TrainingConfig:
    # Logistic-regression inverse regularisation; chosen by grouped CV
    # (scripts/experiments_ptc.py).
    C: float = 1.0
    # Balanced class weights: rare devices would otherwise never reach a
    # useful probability (grouped CV, scripts/experiments_ptc.py).
    class_weight: str | None = "balanced"
    # 5 folds: ~56 articles per fold on PTC, enough for every frequent device.
    folds: int = 5
    # None: GroupKFold's deterministic partition (what every figure before
    # fold_seed existed was measured with); an int: GroupKFold shuffled with
    # that seed, another partition of the same documents, to check that a
    # grouped-CV gain is not one partition's luck (scripts/cv_library.py).
    fold_seed: int | None = None
    # The context stage (rhetoric/context.py): +0.0x micro-F1 in grouped CV
    # (scripts/experiments_ptc.py, "stack: ctx + dense + repetition").
    stage2: bool = True
    # Stage-2 regularisation, chosen by the same grouped CV.
    stage2_C: float = 0.1
    # Character n-grams in stage 1: +0.02 micro-F1 in grouped CV
    # (scripts/experiments_ptc.py, baseline word+char vs word only) at about a
    # quarter of the tagging speed.
    char_ngrams: bool = False
    # The span lexicon's cues in stage 2 (rhetoric/span_lexicon.py), mined from
    # gold spans: +0.018 micro-F1, +0.008 macro-F1, +0.009 any-technique F1 in
    # nested grouped CV (docs/ablation.md, "Library configurations, grouped
    # CV"; scripts/cv_library.py).
    span_lexicon: bool = True
    # Lexicon columns of devices labelled by sentence only (the project's
    # appeal_to_history, us_vs_them): mined with the sentence as the span
    # (True) or left at zero (False). True: F1 0.630 / 0.544 against
    # 0.585 / 0.482 in the same CV.
    lexicon_sentence_labels: bool = True
    # Options for the project's devices (appeal_to_history, us_vs_them) and the
    # 'any technique' column. Every default below is the behaviour the model
    # had before they existed: none of the alternatives cleared the bar (more
    # than one fold sd on its target, micro-F1 and the other project device
    # not lower) in the 5-fold grouped CV with char n-grams of docs/ablation.md,
    # "Project devices and any-technique, grouped CV" (baseline us_vs_them F1
    # 0.578, fold sd 0.008; any 0.577, fold sd 0.038; micro 0.321).
    # Stage-1 C of the project devices' columns (None: `C`). 3: us_vs_them
    # 0.587 (+0.009, about one sd; +0.007 with 4 folds, sd 0.030 there);
    # 10: 0.598 but micro-F1 0.318 (lower in 5 of 5 folds); 0.1 / 0.3 worse.
    project_C: float | None = None
    # Stage-2 C of the project devices' columns and of 'any' (None:
    # `stage2_C`). Project 0.03 / 0.3 / 1: us_vs_them 0.584 / 0.583 / 0.573
    # with appeal_to_history lower each time; any 0.03 / 0.3 / 1: 0.581 /
    # 0.576 / 0.577 against 0.577 (sd 0.038).
    stage2_C_project: float | None = None
    stage2_C_any: float | None = None
    # Sample weight of the project's written sentences (documents "written:*")
    # in the project devices' stage-1 fit; the PTC sentences weigh 1. Before
    # the whole-article PTC labels of round 4 (data/history_us_them, session 4)
    # 2 gave us_vs_them 0.583 (+0.005) and 0.5 gave 0.570, so it was 1. Round 4
    # cut the written share of the labelled rows from 23% to 7%; 4 restores
    # about the old share. Grouped CV, word n-grams, scored on the rows labelled
    # before round 4 (docs/ablation.md, "Round 4"), history / us_vs_them F1,
    # fold seeds None and 1: without round 4 0.672 / 0.568 and 0.658 / 0.592;
    # round 4 at weight 1 0.645 / 0.603 and 0.649 / 0.631; at 4 0.668 / 0.608
    # and 0.663 / 0.631; at 8 0.670 / 0.613 and 0.677 / 0.634 (within a fold
    # sd of 4, so the smaller departure).
    written_weight: float = 4.0
    # Whether the project devices' stage 1 sees the character n-grams (False:
    # word n-grams, rule hits and surface features only): 0.579 against 0.578,
    # appeal_to_history 0.659 against 0.665.
    project_char_ngrams: bool = True
    # The 'any' column's threshold cap, sentences accepted per true positive
    # on the out-of-fold predictions (None: the plain F1 optimum). The cap
    # never binds for 'any': uncapped and cap 3 give the same 0.577.
    any_threshold_cap: float | None = 2.0
    # The in-group / out-group / blame cue counts of features.GroupCues at
    # stage 1 (built from the us_vs_them rules' term groups), seen by the
    # columns of group_cue_devices only; the other columns do not see them.
    # us_vs_them 0.593 (+0.015 pooled, +0.014 ± 0.020 paired over the 5
    # folds), and with project_C=3 0.603 (+0.023 ± 0.022, micro 0.323); but
    # with 4 folds -0.008 alone and +0.017 with project_C=3 (fold sd 0.030,
    # micro 0.303 -> 0.301): not a robust gain, so off. With the round-3
    # labels: +0.020 / 0.000 on two fold partitions (docs/ablation.md, "us_vs_them:
    # error analysis, round-3 labels and a topic-blind option"): still off.
    group_cues: bool = False
    group_cue_devices: tuple[str, ...] = ("us_vs_them",)
    # Gradient-boosted trees in stage 2 (rhetoric/trees.py) for the columns
    # named here (device ids, or "any"): a HistGradientBoostingClassifier over
    # the whole stage-2 matrix (every column's score views and every cue, where
    # the regression of a column sees only its own, 'any' and max views), and
    # the column reports the mean of the trees' and the regression's
    # probabilities. For 'any', in 5-fold grouped CV with char n-grams
    # (scripts/cv_stage2.py; docs/ablation.md, "Stage-2 trees"): any-technique
    # F1 0.576 -> 0.591, 0.571 -> 0.586 and 0.576 -> 0.587 on three fold
    # partitions (fold_seed None, 1, 2), higher in 14 of the 15 folds; nested
    # (cv_library.py --nested) +0.007 and +0.005, 7 of 10 folds higher. The 18
    # techniques' micro- and macro-F1 unchanged (only 'any' moves). Not for
    # the devices: trees for the 7 most frequent techniques or for every
    # column left micro-F1 within -0.003..+0.001 (and cost ~1.5 us a sentence
    # per column at tagging).
    stage2_trees: tuple[str, ...] = ("any",)
    # The trees' share of the probability. 0.5: a plain mean, not tuned. The
    # trees alone did less well (0.584 / 0.586 against the blend's 0.591 /
    # 0.586 with the settings below).
    stage2_trees_weight: float = 0.5
    # 100 trees of depth 3 at learning rate 0.1: as good as deeper trees in
    # the same CV (200 trees of up to 15 leaves at 0.05: 0.595 / 0.586; depth
    # 3, 200 trees at 0.05: 0.593 / 0.584) at ~1.5 us a sentence, about 1% of
    # tagging time (a 200-tree forest of depth ~12 costs ~16 us).
    stage2_trees_iter: int = 100
    stage2_trees_depth: int = 3
    stage2_trees_rate: float = 0.1
    # Devices whose stage 1 does not see the topic: no word n-gram that holds a
    # nation, bloc, faith, migrant-group or party name (topic_words(): the
    # single words of features.GroupCues.NATIONS) and no character n-grams
    # (they spell the same names). Issue 3: the us_vs_them stage-1 weights were
    # those names (muslim, europe, jews, western, china, ...), learnt from a
    # sample screened for them (data/history_us_them/DATA_CARD.md, round 3).
    # Their span-lexicon cues at stage 2 skip those word n-grams too. Meant
    # with group_cues, which counts such names as one 'nation' role.
    # () keeps every column as it was. Off: in grouped CV with the round-3
    # labels, ("us_vs_them",) gave 0.536 / 0.556 against 0.561 / 0.580 on two
    # fold partitions, and with group_cues 0.551 / 0.587 (docs/ablation.md,
    # "us_vs_them: error analysis, round-3 labels and a topic-blind option").
    topic_blind_devices: tuple[str, ...] = ()


# -- sentences and labels -------------------------------------------------------

def line_sentences(text: str) -> list[tuple[int, int]]:
    """The PTC sentence units: each non-blank line, stripped of surrounding space."""
    spans, pos = [], 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            start = pos + line.index(stripped[0])
            spans.append((start, start + len(stripped)))
        pos += len(line) + 1
    return spans


def _label_matrix(doc: Document, sentences: Sequence[tuple[int, int]], known: Iterable[str]) -> np.ndarray:
    labels = np.full((len(sentences), len(DEVICE_IDS)), UNKNOWN, dtype=np.int8)
    known_cols = [DEVICE_IDS.index(d) for d in known]
    labels[:, known_cols] = 0
    for i, devices in enumerate(sentence_labels(doc.spans, sentences)):
        for d in devices:
            labels[i, DEVICE_IDS.index(d)] = 1
    return labels


def ptc_documents(ptc_root: str | Path, exclude: set[str] = frozenset()) -> list[LabelledDoc]:  # type: ignore[assignment]
    """Every PTC article under `ptc_root` (train/, dev/, or a single folder),
    less the excluded ids, with its lines as sentences."""
    root = Path(ptc_root)
    folders = sorted({p.parent for p in root.rglob("article*.txt")})
    docs = []
    for folder in folders:
        for doc in read_ptc(folder):
            if doc.id in exclude:
                continue
            sentences = line_sentences(doc.text)
            docs.append(LabelledDoc(doc.id, doc.text, sentences, _label_matrix(doc, sentences, PTC_DEVICE_IDS),
                                    doc.spans))
    return docs


def meme_documents(memes_dir: str | Path) -> list[LabelledDoc]:
    """SemEval-2021 Task 6 memes (all three files) as extra examples of the PTC
    techniques they share; sentences from the library's splitter."""
    from rhetoric.text import split_sentences

    docs = []
    for name in ("training_set_task2.txt", "dev_set_task2.txt", "test_set_task2.txt"):
        path = Path(memes_dir) / name
        if not path.exists():
            continue
        for doc in read_semeval_memes(path):
            sentences = split_sentences(doc.text)
            if sentences:
                docs.append(LabelledDoc(doc.id, doc.text, sentences,
                                        _label_matrix(doc, sentences, PTC_DEVICE_IDS), doc.spans))
    return docs


def add_project_labels(docs: list[LabelledDoc], project_dir: str | Path,
                       first_only: bool = False) -> list[LabelledDoc]:
    """Attach the project's appeal_to_history / us_vs_them labels to the PTC
    sentences they were made for, and add the project's written documents
    (labels: the majority of the annotation passes; the first annotator's
    with first_only)."""
    folder = Path(project_dir)
    passes = None if first_only else label_passes(folder)  # read once for both kinds of sentence
    cols = [DEVICE_IDS.index(d) for d in PROJECT_DEVICES]
    by_key = _ptc_labels(folder, passes)
    for doc in docs:
        for i, (start, end) in enumerate(doc.sentences):
            found = _find_label(by_key, doc.id, doc.text, start, end)
            if found is not None:
                doc.labels[i, cols] = found
    return docs + _written_documents(folder, passes)


def _find_label(by_key: dict[tuple[str, int, int], tuple[int, int]], doc_id: str, text: str,
                start: int, end: int) -> tuple[int, int] | None:
    return by_key.get((doc_id, *line_span(text, start, end)))


def line_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The raw line around a sentence (sentences are stripped lines): the span
    the project's PTC label files key on."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end


def read_project_labels(folder: Path, first_only: bool = False) -> dict[tuple[str, int, int], tuple[int, int]]:
    """Labels of the PTC sample, keyed by (article id, start, end): the
    majority of the independent passes (`label_passes`), or with first_only
    the first annotator's (`labels/batch*.tsv`; later files correct earlier
    ones, as a re-labelled range such as batch3_lines101_200.tsv replaces the
    lines it names)."""
    return _ptc_labels(folder, None if first_only else label_passes(folder))


def _ptc_labels(folder: Path, passes: LabelPasses | None) -> dict[tuple[str, int, int], tuple[int, int]]:
    labels: dict[tuple[str, int, int], tuple[int, int]] = {}
    for path in sorted((folder / "labels").glob("batch*.tsv")):
        for key, pair in read_label_file(path).items():
            article, start, end = key.split(":")
            labels[(article, int(start), int(end))] = pair if passes is None else passes.decide(key, pair)
    return labels


# The files of labels/ that hold the independent passes after the first: a
# blind second label of every sentence (pass2.tsv, and the earlier double
# labels of double_second.tsv and double_written3.tsv; double_round3.tsv is
# the first annotator's own re-read, not an independent pass), and a blind
# third label of each sentence where the first two disagree (pass3.tsv).
SECOND_PASS_FILES = ("pass2.tsv", "double_second.tsv", "double_written3.tsv")
THIRD_PASS_FILE = "pass3.tsv"


@dataclass
class LabelPasses:
    """The second and third labels of the project's sentences, keyed as in the
    label files (`article:start:end` for PTC lines, the sentence id for written
    ones)."""

    second: dict[str, tuple[int, int]]
    third: dict[str, tuple[int, int]]

    def decide(self, key: str, first: tuple[int, int]) -> tuple[int, int]:
        """The majority label of each device: the first label where the second
        pass agrees with it or there is no second pass, else the third pass's
        (two of three annotators agree with it); the first label while the
        third pass has not read the sentence."""
        second = self.second.get(key)
        if second is None or second == first:
            return first
        third = self.third.get(key, first)
        history = first[0] if first[0] == second[0] else third[0]
        us_them = first[1] if first[1] == second[1] else third[1]
        return (history, us_them)


def label_passes(folder: Path) -> LabelPasses:
    labels = folder / "labels"
    second: dict[str, tuple[int, int]] = {}
    for name in SECOND_PASS_FILES:
        if (labels / name).exists():
            second.update(read_label_file(labels / name))
    third = read_label_file(labels / THIRD_PASS_FILE) if (labels / THIRD_PASS_FILE).exists() else {}
    return LabelPasses(second, third)


def read_label_file(path: Path) -> dict[str, tuple[int, int]]:
    """A label file: a header line, then `key<TAB>appeal_to_history<TAB>us_vs_them`."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip():
            key, history, us_them = line.split("\t")
            out[key] = (int(history), int(us_them))
    return out


def first_labels(folder: Path) -> dict[str, tuple[int, int]]:
    """Every labelled sentence's first label, keyed as in the pass files
    (`article:start:end` for PTC lines, the sentence id for written ones)."""
    labels = {":".join(map(str, key)): pair for key, pair in _ptc_labels(folder, None).items()}
    labels.update((rec["id"], _written_label(rec)) for rec in _written_records(folder))
    return labels


def _written_records(folder: Path) -> list[dict[str, Any]]:
    """The records of `written*.jsonl`: id, doc, text and the writer's labels."""
    return [rec for path in sorted(folder.glob("written*.jsonl")) for rec in _jsonl(path)]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# The written files of sessions 1-3 (short documents, a third of their
# sentences positive) are one batch of writing; each later file (long
# documents at the natural rate, session 5) is a batch of its own. The
# held-out fifth is drawn within each batch (scripts/make_holdout.py).
SHORT_WRITTEN_FILES = ("written.jsonl", "written_2.jsonl", "written_3.jsonl")
SHORT_WRITTEN_BATCH = "written 1-3"


def written_batches(folder: Path) -> dict[str, str]:
    """Each written document ('written:<doc>') and sentence id -> its batch:
    SHORT_WRITTEN_BATCH, or the later file's stem with a space ('written 4')."""
    batches = {}
    for path in sorted(folder.glob("written*.jsonl")):
        name = SHORT_WRITTEN_BATCH if path.name in SHORT_WRITTEN_FILES else path.stem.replace("_", " ")
        for rec in _jsonl(path):
            batches[f"written:{rec['doc']}"] = batches[rec["id"]] = name
    return batches


def _written_label(rec: dict[str, Any]) -> tuple[int, int]:
    return (int(rec[PROJECT_DEVICES[0]]), int(rec[PROJECT_DEVICES[1]]))


def written_documents(folder: Path, first_only: bool = False) -> list[LabelledDoc]:
    """The sentences the project wrote itself (`written*.jsonl`), grouped into
    their documents; each document's text is its sentences joined by spaces.
    Labels as in `read_project_labels`: the majority of the passes, or the
    writer's own (in the JSONL records) with first_only."""
    return _written_documents(folder, None if first_only else label_passes(folder))


def _written_documents(folder: Path, passes: LabelPasses | None) -> list[LabelledDoc]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rec in _written_records(folder):
        grouped.setdefault(f"written:{rec['doc']}", []).append(rec)
    docs = []
    cols = [DEVICE_IDS.index(d) for d in PROJECT_DEVICES]
    for doc_id, recs in grouped.items():
        text, sentences = "", []
        labels = np.full((len(recs), len(DEVICE_IDS)), UNKNOWN, dtype=np.int8)
        for i, rec in enumerate(recs):
            start = len(text) + (1 if text else 0)
            text = f"{text} {rec['text']}" if text else rec["text"]
            sentences.append((start, len(text)))
            first = _written_label(rec)
            labels[i, cols] = first if passes is None else passes.decide(rec["id"], first)
        docs.append(LabelledDoc(doc_id, text, sentences, labels))
    return docs


def holdout_ids(path: str | Path | None = None) -> set[str]:
    """Document ids kept aside for final evaluation (PTC article ids and written
    doc ids), shipped in the package so `rhetoric evaluate` knows them; or the
    ids of another such list (one id a line, '#' starts a comment)."""
    source = Path(path) if path is not None else resources.files("rhetoric").joinpath("data/holdout.txt")
    text = source.read_text(encoding="utf-8")
    return {line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()}


# -- fitting ----------------------------------------------------------------------

def document_inputs(docs: Sequence[LabelledDoc], rules: RuleSet) -> list[DocumentInput]:
    return [DocumentInput(d.text, d.sentences, rules.match(d.text, d.sentences)) for d in docs]


def default_feature_space(rules: RuleSet, char_ngrams: bool = False, group_cues: bool = False) -> FeatureSpace:
    blocks: list[Any] = [WordNgrams()]
    if char_ngrams:
        blocks.append(CharNgrams())
    blocks += [RuleHits([r.id for r in rules.rules], list(DEVICE_IDS)), Shape()]
    if group_cues:
        blocks.append(GroupCues.from_rules(rules))
    return FeatureSpace(blocks)


# A threshold may accept at most this many sentences per true positive on the
# out-of-fold predictions: stops a rare device whose F1 optimum is a deep cut
# from flooding false positives (grouped CV, scripts/experiments_ptc.py, "f1cap").
MAX_PREDICTED_PER_POSITIVE = 2.0


def best_threshold(y: np.ndarray, p: np.ndarray, cap: float | None = MAX_PREDICTED_PER_POSITIVE) -> float:
    """The probability cut-off that maximises F1 on out-of-fold predictions,
    among the cuts that accept at most `cap` sentences per true positive."""
    if y.sum() == 0:
        return 1.0
    order = np.argsort(-p, kind="stable")
    y_sorted = y[order]
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(1 - y_sorted)
    f1 = 2 * tp / (tp + fp + y.sum())
    if cap is not None:
        accepted = np.arange(1, len(y) + 1)
        f1 = np.where(accepted <= cap * y.sum(), f1, -1.0)
    best = int(np.argmax(f1))
    # midway between the last accepted score and the next one: less brittle
    nxt = p[order[best + 1]] if best + 1 < len(order) else p[order[best]]
    return float((p[order[best]] + nxt) / 2)


def threshold_cap(config: TrainingConfig, column: str) -> float | None:
    """The cap on a column's threshold: config.any_threshold_cap for 'any'."""
    return config.any_threshold_cap if column == "any" else MAX_PREDICTED_PER_POSITIVE


def column_labels(docs: Sequence[LabelledDoc], devices: Sequence[str]) -> np.ndarray:
    """Labels per sentence for each device, then 'any technique' (1 when any
    PTC technique among `devices` is present; unknown unless all are known)."""
    labels = np.vstack([d.labels for d in docs])[:, [DEVICE_IDS.index(d) for d in devices]]
    ptc = [j for j, d in enumerate(devices) if d in PTC_DEVICE_IDS]
    any_label = np.full(len(labels), UNKNOWN, dtype=np.int8)
    if ptc:
        known = (labels[:, ptc] != UNKNOWN).all(axis=1)
        any_label[known] = (labels[known][:, ptc] == 1).any(axis=1)
    return np.column_stack([labels, any_label])


def _fit_binary(X: Any, y: np.ndarray, C: float, class_weight: str | None, solver: str,
                sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    if len(y) == 0 or y.min() == y.max():  # one class only: a constant model
        return np.zeros(X.shape[1]), 20.0 if len(y) and y.max() == 1 else -20.0
    # lbfgs needs more than its default 100 iterations on standardised dense cues
    clf = LogisticRegression(C=C, class_weight=class_weight, solver=solver, max_iter=2000)
    clf.fit(X, y, sample_weight=sample_weight)
    return clf.coef_[0].astype(np.float64), float(clf.intercept_[0])


@dataclass
class Stage1Plan:
    """How each stage-1 column is fitted: its C, the rows' sample weights (None:
    all 1) and the feature columns it sees (None: all)."""

    C: list[float]
    weights: list[np.ndarray | None]
    features: list[np.ndarray | None]

    @classmethod
    def uniform(cls, n_columns: int, C: float) -> Stage1Plan:
        return cls([C] * n_columns, [None] * n_columns, [None] * n_columns)

    def rows(self, idx: np.ndarray) -> Stage1Plan:
        """The plan for a subset of the rows."""
        return Stage1Plan(self.C, [None if w is None else w[idx] for w in self.weights], self.features)


# Words of GroupCues.NATIONS that are not topic names on their own: "the",
# "us" (an in-group marker), "left" / "right" and "government".
_NOT_TOPIC = frozenset({"the", "us", "left", "right", "government"})


def topic_words() -> frozenset[str]:
    """The single words that name a nation, bloc, faith, migrant group or party
    (from features.GroupCues.NATIONS), for TrainingConfig.topic_blind_devices."""
    return frozenset(w for term in GroupCues.NATIONS for w in term.split()) - _NOT_TOPIC


def topical_terms(space: FeatureSpace) -> np.ndarray:
    """Per word n-gram of the space's word block: whether it holds a topic word."""
    block, _ = space.word_block()
    names = topic_words()
    return np.array([any(w in names for w in t.split()) for t in block.terms_], dtype=bool)


def topic_blind_columns(space: FeatureSpace) -> np.ndarray:
    """Every feature column except the character n-grams and the word n-grams
    that hold a topic word."""
    _, where = space.word_block()
    drop = np.arange(where.start, where.stop)[topical_terms(space)]
    return np.setdiff1d(space.columns_except(CharNgrams), drop)


def stage1_plan(config: TrainingConfig, devices: Sequence[str], groups: np.ndarray,
                space: FeatureSpace | None) -> Stage1Plan:
    """The project devices' columns with their own C, written-sentence weight
    and feature columns (config.project_C, written_weight, project_char_ngrams);
    every other column as before."""
    plan = Stage1Plan.uniform(len(devices) + 1, config.C)
    weights = None
    if config.written_weight != 1.0:
        written = np.char.startswith(groups.astype(str), "written:")
        weights = np.where(written, config.written_weight, 1.0)
    features = None
    if not config.project_char_ngrams and space is not None:
        features = space.columns_except(CharNgrams)
    # GroupCues is a block for us_vs_them: the other columns do not see it
    others = space.columns_except(GroupCues) if space is not None and config.group_cues else None
    for j, device in enumerate(devices):
        if device in PROJECT_DEVICES:
            plan.C[j] = config.C if config.project_C is None else config.project_C
            plan.weights[j], plan.features[j] = weights, features
        if device in config.topic_blind_devices and space is not None:
            own = plan.features[j]
            blind = topic_blind_columns(space)
            plan.features[j] = blind if own is None else np.intersect1d(own, blind)
        if device not in config.group_cue_devices and others is not None:
            own = plan.features[j]
            plan.features[j] = others if own is None else np.intersect1d(own, others)
    plan.features[len(devices)] = others  # 'any'
    return plan


def fit_stage1(X: Any, labels: np.ndarray, config: TrainingConfig,
               plan: Stage1Plan | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per column on the rows that know it."""
    plan = plan or Stage1Plan.uniform(labels.shape[1], config.C)
    coef = np.zeros((labels.shape[1], X.shape[1]))
    intercept = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        known = np.flatnonzero(labels[:, j] != UNKNOWN)
        weights, columns = plan.weights[j], plan.features[j]
        Xj = X[known] if columns is None else X[known][:, columns]
        w, intercept[j] = _fit_binary(Xj, labels[known, j], plan.C[j], config.class_weight, "liblinear",
                                      None if weights is None else weights[known])
        if columns is None:
            coef[j] = w
        else:
            coef[j, columns] = w
    return coef, intercept


def stage1_out_of_fold(X: Any, labels: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                       config: TrainingConfig, plan: Stage1Plan | None = None) -> np.ndarray:
    """Stage-1 decision values for every row from the fold model that did not
    see its document (for the rows' context too, so every row gets one)."""
    plan = plan or Stage1Plan.uniform(labels.shape[1], config.C)
    scores = np.zeros(labels.shape)
    for train_idx, test_idx in folds:
        coef, intercept = fit_stage1(X[train_idx], labels[train_idx], config, plan.rows(train_idx))
        scores[test_idx] = np.asarray(X[test_idx] @ coef.T) + intercept
    return scores


def grouped_folds(groups: np.ndarray, n_folds: int, seed: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds grouped by document (GroupKFold is deterministic:
    the same groups and seed give the same folds, which scripts/cv_library.py
    relies on). seed None: GroupKFold unshuffled; an int: shuffled with it."""
    from sklearn.model_selection import GroupKFold

    n_splits = min(n_folds, len(set(groups)))
    splitter = GroupKFold(n_splits=n_splits) if seed is None else \
        GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(groups)), groups=groups))


def lexicon_designs(designs: Design, docs: Sequence[LabelledDoc], labels: np.ndarray,
                    devices: Sequence[str], space: FeatureSpace, X: Any,
                    folds: list[tuple[np.ndarray, np.ndarray]], config: TrainingConfig) -> tuple[Design, SpanLexicon]:
    """The stage-2 designs with the span-lexicon cues appended, each fold's rows
    cued by the lexicon mined on the other folds; and the lexicon mined on all
    rows, which the model keeps."""
    occ = span_lexicon.occurrences(docs, labels, devices, space)
    keep = np.ones(labels.shape[1], dtype=bool)
    if not config.lexicon_sentence_labels:  # only the columns whose spans are gold spans
        keep[:-1] = [d in PTC_DEVICE_IDS for d in devices]
    if config.topic_blind_devices:  # nor do the topic-blind columns' lexicon cues see topic words
        blind = np.array([j for j, d in enumerate(devices) if d in config.topic_blind_devices], dtype=np.int64)
        keep = np.tile(keep, (occ.n_terms, 1))
        keep[np.ix_(topical_terms(space), blind)] = False
    word_X = X[:, space.word_block()[1]]
    cue_max, cue_sum = span_lexicon.out_of_fold(occ, labels, word_X, folds, keep)
    lexicon = SpanLexicon(span_lexicon.mine(occ, labels, None) * keep)
    return span_lexicon.append_cues(designs, cue_max, cue_sum), lexicon


def stage2_Cs(config: TrainingConfig, devices: Sequence[str]) -> list[float]:
    """Each stage-2 column's C: the project devices' and 'any' may have their own."""
    project = config.stage2_C if config.stage2_C_project is None else config.stage2_C_project
    any_C = config.stage2_C if config.stage2_C_any is None else config.stage2_C_any
    return [project if d in PROJECT_DEVICES else config.stage2_C for d in devices] + [any_C]


def fit_trees(Z: np.ndarray, y: np.ndarray, config: TrainingConfig) -> Any:
    """One column's stage-2 trees: a fitted HistGradientBoostingClassifier."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    # No early stopping: it would hold out a random tenth of the rows, not
    # grouped by document. The leaf settings are scripts/cv_stage2.py's GBM
    # base, which every variant there was measured with.
    trees = HistGradientBoostingClassifier(learning_rate=config.stage2_trees_rate, max_iter=config.stage2_trees_iter,
                                           max_depth=config.stage2_trees_depth, max_leaf_nodes=15,
                                           min_samples_leaf=40, l2_regularization=1.0, early_stopping=False,
                                           random_state=0)
    # One OpenMP thread: the same trees on any machine, and no thread spinning
    # at every split while another process holds the second core (a full
    # training took 25 minutes instead of 4 on the 2-core machine under load).
    with threadpool_limits(limits=1, user_api="openmp"):
        return trees.fit(Z, y)


def _tree_proba(Z_train: np.ndarray, y: np.ndarray, Z_test: np.ndarray, config: TrainingConfig) -> np.ndarray:
    if len(y) == 0 or y.min() == y.max():  # one class only: that class
        return np.full(len(Z_test), float(y.max()) if len(y) else 0.0)
    proba: np.ndarray = fit_trees(Z_train, y, config).predict_proba(Z_test)[:, 1]
    return proba


def fit_stage2_trees(stage2: Stage2, oof: np.ndarray, matrix: np.ndarray, labels: np.ndarray,
                     folds: list[tuple[np.ndarray, np.ndarray]], config: TrainingConfig,
                     devices: Sequence[str]) -> None:
    """Add trees to the columns of config.stage2_trees (in place): fit on every
    known row and export (rhetoric.trees.Forest), and blend their out-of-fold
    probabilities into `oof` as Stage2.predict_proba blends them."""
    from rhetoric.trees import Forest

    names = [*devices, "any"]
    unknown = sorted(set(config.stage2_trees) - set(names))
    if unknown:
        raise ValueError(f"stage2_trees names {', '.join(unknown)}: not among the model's columns")
    w = config.stage2_trees_weight
    stage2.tree_weight, stage2.tree_width = w, matrix.shape[1]
    for j in sorted(names.index(c) for c in config.stage2_trees):
        known = labels[:, j] != UNKNOWN
        y = labels[known, j]
        if len(y) == 0 or y.min() == y.max():
            continue  # a constant column: the regression's constant stays
        stage2.forests[j] = Forest.from_sklearn(fit_trees(matrix[known], y, config))
        for train_idx, test_idx in folds:
            tr, te = train_idx[known[train_idx]], test_idx[known[test_idx]]
            oof[te, j] = (1 - w) * oof[te, j] + w * _tree_proba(matrix[tr], labels[tr, j], matrix[te], config)


def fit_stage2(designs: Iterable[np.ndarray], labels: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
               config: TrainingConfig, devices: Sequence[str] | None = None) -> tuple[Stage2, np.ndarray]:
    """Per column: standardise its design, fit a logistic regression, and give
    out-of-fold probabilities (NaN where the label is unknown); then the
    trees of config.stage2_trees, when `designs` is a Design."""
    means, scales, coefs, intercepts = [], [], [], []
    oof = np.full(labels.shape, np.nan)
    devices = DEVICE_IDS if devices is None else devices
    Cs = stage2_Cs(config, devices)
    for j, Z in enumerate(designs):
        C = Cs[j] if j < len(Cs) else config.stage2_C
        known = labels[:, j] != UNKNOWN
        rows = Z[known] if known.any() else Z
        mean, scale = rows.mean(0), rows.std(0) + 1e-6  # 1e-6: constant cues stay finite
        Zs = (Z - mean) / scale
        w, b = _fit_binary(Zs[known], labels[known, j], C, None, "lbfgs")
        means.append(mean)
        scales.append(scale)
        coefs.append(w)
        intercepts.append(b)
        for train_idx, test_idx in folds:
            tr, te = train_idx[known[train_idx]], test_idx[known[test_idx]]
            w_fold, b_fold = _fit_binary(Zs[tr], labels[tr, j], C, None, "lbfgs")
            oof[te, j] = 1 / (1 + np.exp(-(Zs[te] @ w_fold + b_fold)))
    stage2 = Stage2(means, scales, coefs, np.asarray(intercepts))
    if config.stage2_trees:
        if not isinstance(designs, Design):
            raise TypeError("stage2_trees needs the stage-2 Design (its whole matrix), not a list of designs")
        fit_stage2_trees(stage2, oof, designs.matrix, labels, folds, config, devices)
    return stage2, oof


def fit_model(docs: Sequence[LabelledDoc], rules: RuleSet, config: TrainingConfig | None = None,
              devices: Sequence[str] = DEVICE_IDS, features: FeatureSpace | None = None) -> Model:
    """Fit the feature space, stage 1 (a logistic regression per device and for
    'any technique') and, with config.stage2, the context stage on stage-1
    out-of-fold scores; tune each column's threshold on out-of-fold
    probabilities of the final stage. Folds are grouped by document."""
    from rhetoric.context import design, shared_cues

    config = config or TrainingConfig()
    inputs = document_inputs(docs, rules)
    space = (features or default_feature_space(rules, config.char_ngrams, config.group_cues)).fit(inputs)
    X = space.transform(inputs)
    labels = column_labels(docs, devices)
    groups = np.concatenate([[d.id] * len(d.sentences) for d in docs])
    folds = grouped_folds(groups, config.folds, config.fold_seed)
    plan = stage1_plan(config, devices, groups, space)
    coef, intercept = fit_stage1(X, labels, config, plan)
    stage2 = lexicon = None
    if config.stage2:
        counts = [len(d.sentences) for d in docs]
        shared = shared_cues([d.text[s:e] for d in docs for s, e in d.sentences], counts, space.content_terms(X),
                             [h for i in inputs for h in i.hits], list(devices))
        designs = design(stage1_out_of_fold(X, labels, folds, config, plan), len(devices), counts, shared)
        if config.span_lexicon:
            designs, lexicon = lexicon_designs(designs, docs, labels, devices, space, X, folds, config)
        stage2, oof = fit_stage2(designs, labels, folds, config, devices)
        model_designs = designs
    else:
        oof = 1 / (1 + np.exp(-stage1_out_of_fold(X, labels, folds, config, plan)))
        model_designs = None
    thresholds = np.ones(labels.shape[1])
    for j, name in enumerate([*devices, "any"]):
        known = labels[:, j] != UNKNOWN
        thresholds[j] = best_threshold(labels[known, j], oof[known, j], threshold_cap(config, name))
        log.info("%s: %d known, %d positive, threshold %.3f", name, known.sum(), labels[known, j].sum(),
                 thresholds[j])
    model = Model(space, list(devices), coef, intercept, thresholds, stage2, {}, lexicon)
    model.training_oof_ = (labels, oof, groups)  # kept in memory only, for threshold studies
    model.training_designs_ = model_designs  # in memory only: stage-2 studies refit on them
    return model


# -- the whole run ------------------------------------------------------------------

@dataclass
class Sources:
    """Where the training data lives; the project and meme data are optional."""

    ptc: Path
    project: Path | None = None
    memes: Path | None = None


def labelled_documents(sources: Sources, *, held_out: bool, exclude: set[str] = frozenset()) -> list[LabelledDoc]:  # type: ignore[assignment]
    """The training documents (held_out=False) or the held-out ones (True),
    each with every label the project has for it."""
    keep = holdout_ids()

    def wanted(doc_id: str) -> bool:
        return (doc_id in keep) == held_out and doc_id not in exclude

    docs = [d for d in ptc_documents(sources.ptc) if wanted(d.id)]
    if sources.project is not None:
        docs = [d for d in add_project_labels(docs, sources.project) if wanted(d.id)]
    if sources.memes is not None and not held_out:
        docs += meme_documents(sources.memes)
    return docs


def train(sources: Sources, out: str | Path, config: TrainingConfig | None = None) -> Model:
    """Fit on everything but the held-out documents, measure on those, save."""
    from rhetoric import __version__
    from rhetoric.evaluate import baseline_predictions, evaluate_docs, report
    from rhetoric.tagger import Tagger, _minor
    from rhetoric.text import splitter_fingerprint

    config = config or TrainingConfig()
    rules = RuleSet.load()
    docs = labelled_documents(sources, held_out=False)
    model = fit_model(docs, rules, config)
    model.info = {
        "library_version": _minor(__version__),
        "rules_fingerprint": rules.fingerprint,
        "splitter_fingerprint": splitter_fingerprint(),
        "training": {"config": {k: v for k, v in vars(config).items()},
                     "documents": len(docs), "sentences": int(sum(len(d.sentences) for d in docs)),
                     "ptc_articles": sorted(d.id for d in docs if d.id.isdigit()),
                     "memes": sum(d.id.startswith("meme") for d in docs),
                     "written_documents": sum(d.id.startswith("written:") for d in docs),
                     "project_labelled_ptc_sentences": int(sum(
                         (d.labels[:, DEVICE_IDS.index(PROJECT_DEVICES[0])] != UNKNOWN).sum()
                         for d in docs if d.id.isdigit()))},
    }
    held = labelled_documents(sources, held_out=True)
    if held:
        model.info["heldout"] = evaluate_docs(Tagger(model, rules), held)
        gold = np.vstack([d.labels for d in held])
        model.info["baseline_heldout"] = report(gold, baseline_predictions(docs, held))
    model.save(out)
    Path(out, "MODEL_CARD.md").write_text(model_card(model.info), encoding="utf-8")
    return model


def model_card(info: dict[str, Any]) -> str:
    """The model card, written from the manifest so every figure in it is the
    one `rhetoric train` measured (and `rhetoric evaluate` reproduces)."""
    training = info.get("training", {})
    text_features = "word and character n-gram" if training.get("config", {}).get("char_ngrams") else "word n-gram"
    config = training.get("config", {})
    lexicon = bool(config.get("span_lexicon") and config.get("stage2", True))
    trees = [f"'{c}'" for c in config.get("stage2_trees", ())] if config.get("stage2", True) else []
    lines = [
        "# rhetoric model card",
        "",
        f"Stage 1: a logistic regression per device (and one for 'any technique') over {text_features}",
        "TF-IDF, rule-hit and surface features. Stage 2: each device decided again from the stage-1",
        "scores of the sentence, its neighbours and its document, with surface, position, repetition",
        "and rule cues (`rhetoric/context.py`)" + ("," if lexicon else "."),
        *(["and span-lexicon cues: how often the sentence's words fall inside gold spans of each",
           "device in the training data (`rhetoric/span_lexicon.py`)."] if lexicon else []),
        *([f"Column{'s' if len(trees) > 1 else ''} {', '.join(trees)}: the mean of that probability and",
           "the one of gradient-boosted trees over all of these stage-2 inputs (`rhetoric/trees.py`)."]
          if trees else []),
        "Per-device probability thresholds tuned on out-of-fold",
        "predictions (cross-validation grouped by document), each accepting at most two sentences per",
        "true positive. Saved as plain arrays (`model.npz`, loaded with `allow_pickle=False`) and",
        "`manifest.json`. Trained by `rhetoric train --ptc PTC_DIR --out models --project-data",
        "data/history_us_them --char-ngrams`.",
        "",
        "## Training data",
        "",
        f"- {len(training.get('ptc_articles', []))} articles of the Propaganda Techniques Corpus "
        "(PTC, 2019 release; train and dev), less the held-out articles listed in "
        "`rhetoric/data/holdout.txt`.",
        *([f"- {training['memes']} SemEval-2021 Task 6 memes (train, dev, test) as extra examples "
           "for the techniques they share with PTC."] if training.get("memes") else []),
        f"- The project's own labels for appeal_to_history and us_vs_them (`data/history_us_them/`): "
        f"{training.get('project_labelled_ptc_sentences', 'some')} sentences of those PTC articles (standoff) "
        f"and {training.get('written_documents', 0)} documents the project wrote itself; each label the "
        "majority of independent readings (`data/history_us_them/DATA_CARD.md`).",
        f"- In all {training.get('sentences', 0)} sentences in {training.get('documents', 0)} documents.",
        "",
        "**Terms.** PTC is released by its authors under an academic research licence, for research",
        "purposes only; SemEval-2021 Task 6 data is free for general research use. This model is",
        "trained on them and inherits those terms: use it for research; ask the corpus authors",
        "before any other use.",
        "",
        "## Figures",
        "",
        "Sentence level, on held-out documents the model never trained on (the PTC articles and",
        "written documents in `rhetoric/data/holdout.txt`). A sentence carries a device when one of",
        "its gold spans overlaps it. The baseline is a plain word+char TF-IDF logistic regression",
        "trained on the same data (`rhetoric.evaluate.baseline_predictions`). Any-technique F1 two",
        "ways: from the model's dedicated 'any technique' column (`Result.any_technique`), and from",
        "the union of the device tags (a sentence counts when any device fires in it).",
        "Reproduce: `rhetoric evaluate --ptc PTC_DIR --project-data data/history_us_them`.",
        "",
    ]
    held, base = info.get("heldout"), info.get("baseline_heldout")
    if held and base:
        lines += ["| | model | baseline |", "|---|---|---|",
                  f"| micro-F1, 18 techniques | {held['micro_f1']:.3f} | {base['micro_f1']:.3f} |",
                  f"| macro-F1, 18 techniques | {held['macro_f1']:.3f} | {base['macro_f1']:.3f} |",
                  # the model's own 'any technique' column; the baseline has none
                  f"| any-technique F1, 'any' column | {held['any_technique']['f1']:.3f} | – |",
                  f"| any-technique F1, union of the devices | "
                  f"{held.get('any_technique_union', held['any_technique'])['f1']:.3f} | "
                  f"{base.get('any_technique_union', base['any_technique'])['f1']:.3f} |",
                  "", "| device | P | R | F1 | baseline F1 | support |", "|---|---|---|---|---|---|"]
        for device, s in held["devices"].items():
            b = base["devices"].get(device, {}).get("f1")
            # the baseline models the 18 PTC techniques only
            b_text = "–" if b is None or device not in PTC_DEVICE_IDS else f"{b:.3f}"
            lines.append(f"| {device} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
                         f"{b_text} | {s['support']} |")
    lines += ["", f"Rule set fingerprint `{str(info.get('rules_fingerprint', ''))[:16]}`, splitter "
              f"fingerprint `{str(info.get('splitter_fingerprint', ''))[:16]}`, library "
              f"{info.get('library_version', '?')}.", ""]
    return "\n".join(lines)
