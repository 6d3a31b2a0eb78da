"""The trained model: feature space, one linear classifier per device, and
per-device thresholds, saved as plain arrays (`model.npz`, read with
allow_pickle=False) plus a JSON manifest. Nothing is unpickled at load time.

The manifest records what the model was built with (library version, rule-set
fingerprint, splitter fingerprint), a SHA-256 of the array file and one of its
own content (`manifest_sha256`); a damaged or edited model is refused, and so
is a model that does not match the running library, with a message that says
how to retrain it.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from rhetoric.context import Design
from rhetoric.features import CharNgrams, FeatureSpace
from rhetoric.span_lexicon import SpanLexicon, append_cues
from rhetoric.trees import ARRAY_KEYS as TREE_ARRAY_KEYS
from rhetoric.trees import Forest

# v2 adds the optional span lexicon (rhetoric/span_lexicon.py); a v1 model is
# a v2 model without one and loads as it is. A library that reads only v1
# refuses a v2 model instead of scoring it with the wrong stage-2 design.
# v3 adds stage-2 gradient-boosted trees (rhetoric/trees.py); a model without
# them is still saved as v2, so libraries that read only v2 keep loading it,
# and refuse a model with trees instead of scoring it without them.
FORMAT = "rhetoric-linear-v2"
FORMAT_TREES = "rhetoric-linear-v3"
READABLE_FORMATS = ("rhetoric-linear-v1", FORMAT, FORMAT_TREES)
ARRAYS_FILE = "model.npz"
MANIFEST_FILE = "manifest.json"
RETRAIN_HINT = "retrain it with `rhetoric train --ptc PTC_DIR --out DIR` and load that DIR"
# The span lexicon's array in model.npz (listed in the manifest's "span_lexicon").
LEXICON_ARRAY = "span_lexicon.lift"
# The manifest's own digest: SHA-256 of its canonical JSON without this key.
MANIFEST_DIGEST_KEY = "manifest_sha256"
# Files a model folder must not hold: rhetoric never unpickles, and a pickle
# beside the model is either a mistake or an attempt to get one loaded.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill", ".sav")


class ModelError(RuntimeError):
    """A model file that is missing, damaged or built for another library."""


@dataclass
class Stage2:
    """Per output column j (the devices, then 'any'): the standardisation and the
    logistic regression over that column's context design (rhetoric.context).
    Optionally, for some columns, gradient-boosted trees over the whole
    stage-2 matrix (`forests`, keyed by column; rhetoric/trees.py): such a
    column's probability is (1 - tree_weight) * the regression's +
    tree_weight * the trees'."""

    mean: list[np.ndarray]
    scale: list[np.ndarray]
    coef: list[np.ndarray]
    intercept: np.ndarray
    forests: dict[int, Forest] = field(default_factory=dict)
    tree_weight: float = 0.5
    tree_width: int = 0  # the stage-2 matrix width the trees' feature indices refer to

    def predict_proba(self, design: Design) -> np.ndarray:
        proba = self._linear_proba(design)
        if self.forests:
            if design.matrix.shape[1] != self.tree_width:
                raise ValueError(f"stage-2 matrix of {design.matrix.shape[1]} columns, but the trees were "
                                 f"fitted on {self.tree_width}")
            w = self.tree_weight
            for j, forest in self.forests.items():
                proba[:, j] = (1 - w) * proba[:, j] + w * _sigmoid(forest.decision_function(design.matrix))
        return proba

    def _linear_proba(self, design: Design) -> np.ndarray:
        weights, intercept = self._folded(design)
        Z = design.matrix
        # In row blocks small enough that OpenBLAS computes each on one thread
        # (it goes parallel above m*n*k = 65536 * 4): on a matrix this thin its
        # threads spend more CPU spinning between calls than they save (a
        # fifth of all tagging CPU time, measured with benchmarks/throughput.py).
        step = max(1, 65536 * 4 // max(1, Z.shape[1] * weights.shape[1]))
        scores = np.vstack([Z[i:i + step] @ weights for i in range(0, len(Z), step)]) if len(Z) else \
            np.zeros((0, weights.shape[1]))
        return _sigmoid(scores + intercept)

    def _folded(self, design: Design) -> tuple[np.ndarray, np.ndarray]:
        """The per-column classifiers as one weight matrix over the design's
        matrix: ((Z - mean) / scale) @ w == Z @ (w / scale) - mean @ (w / scale),
        and column j's Z is the matrix's columns design.columns[j]. One matrix
        product instead of a standardised copy per column."""
        key = (design.matrix.shape[1], b"".join(c.tobytes() for c in design.columns))
        cached = getattr(self, "_folded_cache", None)
        if cached is None or cached[0] != key:
            weights = np.zeros((design.matrix.shape[1], len(self.coef)))
            intercept = np.asarray(self.intercept, dtype=np.float64).copy()
            for j, (cols, m, s, w) in enumerate(zip(design.columns, self.mean, self.scale, self.coef, strict=True)):
                scaled = w / s
                np.add.at(weights[:, j], cols, scaled)
                intercept[j] -= float(m @ scaled)
            cached = self._folded_cache = (key, (weights, intercept))
        return cached[1]

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"stage2.intercept": np.asarray(self.intercept, dtype=np.float64)}
        for j, (m, s, w) in enumerate(zip(self.mean, self.scale, self.coef, strict=True)):
            out.update({f"stage2.mean.{j}": m, f"stage2.scale.{j}": s, f"stage2.coef.{j}": w})
        if self.forests:
            out[TREES_ARRAY] = np.asarray(sorted(self.forests), dtype=np.int64)
            out["stage2.trees.weight"] = np.asarray([self.tree_weight], dtype=np.float64)
            out["stage2.trees.width"] = np.asarray([self.tree_width], dtype=np.int64)
            for j, forest in self.forests.items():
                out.update({f"stage2.trees.{j}.{key}": a for key, a in forest.arrays().items()})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Stage2:
        k = len(arrays["stage2.intercept"])
        forests, weight, width = {}, 0.5, 0
        if TREES_ARRAY in arrays:
            for j in arrays[TREES_ARRAY].tolist():
                if not 0 <= j < k:
                    raise ValueError(f"trees for stage-2 column {j} of {k}")
                forests[j] = Forest.from_arrays({key: arrays[f"stage2.trees.{j}.{key}"] for key in TREE_ARRAY_KEYS})
            weight = float(arrays["stage2.trees.weight"][0])
            width = int(arrays["stage2.trees.width"][0])
            if any(len(f.feature) and int(f.feature.max()) >= width for f in forests.values()):
                raise ValueError(f"a tree tests a feature beyond the stage-2 width {width}")
        return cls([arrays[f"stage2.mean.{j}"] for j in range(k)], [arrays[f"stage2.scale.{j}"] for j in range(k)],
                   [arrays[f"stage2.coef.{j}"] for j in range(k)], arrays["stage2.intercept"], forests, weight,
                   width)


# The stage-2 columns that have trees (Stage2.forests), in model.npz.
TREES_ARRAY = "stage2.trees.columns"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    proba: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))  # clip: exp overflow guard
    return proba


@dataclass
class Model:
    """Stage 1: one linear model per output column (the devices, then 'any
    technique') over the feature space. Stage 2 (optional): the same columns
    decided again with the sentence's document context (rhetoric.context)."""

    features: FeatureSpace
    devices: list[str]
    coef: np.ndarray        # (n_devices + 1, n_features): stage 1, last row = any technique
    intercept: np.ndarray   # (n_devices + 1,)
    thresholds: np.ndarray  # (n_devices + 1,) probability at which each column fires
    stage2: Stage2 | None = None
    info: dict[str, Any] = field(default_factory=dict)  # provenance, metrics, fingerprints
    lexicon: SpanLexicon | None = None  # stage-2 cues from gold spans (needs stage2)
    # (labels, out-of-fold probabilities, groups) of a model just trained; never saved
    training_oof_: Any = field(default=None, repr=False, compare=False)
    # the stage-2 designs of a model just trained (scripts/cv_library.py); never saved
    training_designs_: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Stored as saved: float32 weights halve the file, and a model in memory
        # then scores exactly as the same model reloaded.
        self.coef = np.asarray(self.coef, dtype=np.float32)
        self.intercept = np.asarray(self.intercept, dtype=np.float64)
        self.thresholds = np.asarray(self.thresholds, dtype=np.float64)

    @property
    def any_index(self) -> int:
        """The column of 'any technique' in probabilities and thresholds."""
        return len(self.devices)

    def decision_function(self, X: sp.csr_matrix) -> np.ndarray:
        """Stage-1 decision values, one column per device and 'any'."""
        scores: np.ndarray = np.asarray(X @ self.coef.T) + self.intercept
        return scores

    def predict_proba(self, X: sp.csr_matrix, docs: Sequence[Any]) -> np.ndarray:
        """P(device in sentence) for a batch of documents (their sentences are the
        rows of X, in order): one column per device, then 'any technique'.
        Computed for the whole batch at once."""
        scores = self.decision_function(X)
        if self.stage2 is None:
            return _sigmoid(scores)
        from rhetoric.context import design, shared_cues

        shared = shared_cues([d.text[s:e] for d in docs for s, e in d.sentences],
                             [len(d.sentences) for d in docs], self.features.content_terms(X),
                             [h for d in docs for h in d.hits], self.devices)
        designs = design(scores, len(self.devices), [len(d.sentences) for d in docs], shared)
        if self.lexicon is not None:
            designs = append_cues(designs, *self.lexicon.cues(X[:, self.features.word_block()[1]]))
        return self.stage2.predict_proba(designs)

    def explainable(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """The columns of X that explain a tag to a reader: words, rules and
        surface cues, not character n-grams (fragments such as ' thu' say
        nothing; they made 1 of the 315 top features on the seeds). What
        top_features reads; a third of the work for ~10x fewer entries a row."""
        return X[:, self._explain_columns()]

    def top_features(self, x: sp.csr_matrix, device_index: int, k: int = 3, row: int = 0) -> list[tuple[str, float]]:
        """The k features of sentence `row` of x = explainable(X) that pushed
        this device up most (`top_features_many` for one sentence)."""
        return self.top_features_many(x, [row], [device_index], k)[0]

    def top_features_many(self, x: sp.csr_matrix, rows: Sequence[int], device_indices: Sequence[int],
                          k: int = 3) -> list[list[tuple[str, float]]]:
        """For each (row, device) pair, the k features of that sentence of
        x = explainable(X) with the largest positive contribution (feature
        value times the device's weight), largest first, ties in column order.
        All pairs in a few numpy passes: one call per tag cost ~15 us, 6% of
        tagging time."""
        if not sp.isspmatrix_csr(x):
            x = x.tocsr()
        columns = self._explain_columns()
        if x.shape[1] != len(columns):
            raise ValueError(f"top_features needs Model.explainable(X), {len(columns)} columns, "
                             f"not {x.shape[1]}")
        rows_ = np.asarray(rows, dtype=np.int64)
        starts = x.indptr[rows_]
        lengths = x.indptr[rows_ + 1] - starts
        pair = np.repeat(np.arange(len(rows_)), lengths)        # the pair each entry belongs to
        first = np.cumsum(lengths) - lengths                    # each pair's first entry
        entry = np.arange(len(pair)) - first[pair] + starts[pair]
        indices = x.indices[entry]
        contrib = x.data[entry] * self._explain_coef[np.asarray(device_indices, dtype=np.int64)[pair], indices]
        positive = contrib > 0  # only these are reported: fewer to sort
        pair, indices, contrib = pair[positive], indices[positive], contrib[positive]
        order = np.lexsort((indices, -contrib, pair))           # by pair, largest first, then column
        counts = np.bincount(pair, minlength=len(rows_))
        rank = np.arange(len(order)) - (np.cumsum(counts) - counts)[pair[order]]
        chosen = order[rank < k]
        names = self._explain_names
        out: list[list[tuple[str, float]]] = [[] for _ in rows_]
        for p, i, c in zip(pair[chosen].tolist(), indices[chosen].tolist(), contrib[chosen].tolist(), strict=True):
            out[p].append((names[i], round(c, 4)))
        return out

    def _explain_columns(self) -> np.ndarray:
        # Made on first use; `_explain` is set last, so that another thread
        # (Dask workers tag partitions in threads) that sees it also sees the
        # coefficients and names, not a half-made state.
        if not hasattr(self, "_explain"):
            columns = self.features.columns_except(CharNgrams)
            self._explain_coef = np.ascontiguousarray(self.coef[:, columns])
            names = self.feature_names()
            self._explain_names = [names[i] for i in columns.tolist()]
            self._explain = columns
        return self._explain

    def feature_names(self) -> list[str]:
        if not hasattr(self, "_names"):
            self._names = self.features.feature_names()
        return self._names

    # -- saving and loading ---------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        specs, arrays = self.features.to_saved()
        arrays = {f"features.{k}": v for k, v in arrays.items()}
        arrays.update(coef=self.coef, intercept=self.intercept, thresholds=self.thresholds)
        if self.stage2 is not None:
            arrays.update(self.stage2.arrays())
        lexicon = {}
        if self.lexicon is not None:
            arrays[LEXICON_ARRAY] = self.lexicon.lift
            lexicon = {"span_lexicon": {"array": LEXICON_ARRAY, "shape": list(self.lexicon.lift.shape),
                                        "rows": "word block terms", "columns": [*self.devices, "any"],
                                        "smoothing": self.lexicon.smoothing}}
        # np.savez is deterministic for the same arrays: byte-identical retrains
        np.savez_compressed(out / ARRAYS_FILE, **arrays)  # type: ignore[arg-type]
        trees = {}
        if self.stage2 is not None and self.stage2.forests:
            names = [*self.devices, "any"]
            trees = {"stage2_trees": {"columns": [names[j] for j in sorted(self.stage2.forests)],
                                      "weight": self.stage2.tree_weight,
                                      "trees": {names[j]: len(f.roots) for j, f in sorted(self.stage2.forests.items())},
                                      "depth": max(f.depth for f in self.stage2.forests.values())}}
        manifest = {"format": FORMAT_TREES if trees else FORMAT, "devices": self.devices, "feature_blocks": specs,
                    "sha256": {ARRAYS_FILE: _sha256(out / ARRAYS_FILE)}, **lexicon, **trees, **self.info}
        manifest = json.loads(json.dumps(manifest))  # as it will be read back (tuples as lists, keys as str)
        manifest[MANIFEST_DIGEST_KEY] = manifest_digest(manifest)
        (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                         encoding="utf-8")
        return out

    @classmethod
    def load(cls, directory: str | Path, expect: dict[str, str] | None = None) -> Model:
        """Load and verify a saved model. `expect` maps manifest keys (e.g.
        'rules_fingerprint') to the values the running library has."""
        folder = Path(directory)
        manifest_path, arrays_path = folder / MANIFEST_FILE, folder / ARRAYS_FILE
        for path in (manifest_path, arrays_path):
            if not path.is_file():
                raise ModelError(f"{path}: model file missing; {RETRAIN_HINT}")
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
        if pickles:
            raise ModelError(f"{folder}: holds {', '.join(pickles)}: rhetoric never loads pickles (they run code "
                             f"when loaded); remove them, or keep the model in a folder of its own")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ModelError(f"{manifest_path}: not a valid manifest ({err}); {RETRAIN_HINT}") from None
        if not isinstance(manifest, dict):
            raise ModelError(f"{manifest_path}: not a valid manifest (a JSON {type(manifest).__name__}); "
                             f"{RETRAIN_HINT}")
        if MANIFEST_DIGEST_KEY not in manifest:
            raise ModelError(f"{manifest_path}: records no {MANIFEST_DIGEST_KEY!r} (saved by rhetoric before 0.1.0 "
                             f"recorded one, or removed); reinstall or {RETRAIN_HINT}")
        if manifest[MANIFEST_DIGEST_KEY] != manifest_digest(manifest):
            raise ModelError(f"{manifest_path}: its SHA-256 does not match the {MANIFEST_DIGEST_KEY!r} it records "
                             f"(the manifest was edited or damaged); reinstall or {RETRAIN_HINT}")
        if manifest.get("format") not in READABLE_FORMATS:
            raise ModelError(f"{manifest_path}: format {manifest.get('format')!r}, expected {FORMAT!r}; "
                             f"{RETRAIN_HINT}")
        digest = _sha256(arrays_path)
        if manifest.get("sha256", {}).get(ARRAYS_FILE) != digest:
            raise ModelError(f"{arrays_path}: SHA-256 {digest[:12]}… does not match the manifest: "
                             f"the file is damaged or was changed; reinstall or {RETRAIN_HINT}")
        for key, value in (expect or {}).items():
            if manifest.get(key) != value:
                raise ModelError(f"{folder}: model built with {key}={manifest.get(key)!r}, but this "
                                 f"library has {value!r}; {RETRAIN_HINT}")
        try:
            # allow_pickle=False: an object array (a pickle inside the .npz) or
            # a pickle file in its place raises ValueError, unread
            loaded = np.load(arrays_path, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError(f"a single {type(loaded).__name__}, not an .npz archive of named arrays")
            with loaded as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, EOFError) as err:
            if "pickle" in str(err):  # numpy's own message suggests allow_pickle=True: not here
                raise ModelError(f"{arrays_path}: holds pickled (object) data, which rhetoric never loads "
                                 f"(unpickling runs code); {RETRAIN_HINT}") from None
            raise ModelError(f"{arrays_path}: cannot read the arrays ({err}); {RETRAIN_HINT}") from None
        prefix = "features."
        try:
            features = FeatureSpace.from_saved(
                manifest["feature_blocks"], {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
            info = {k: v for k, v in manifest.items()
                    if k not in ("format", "devices", "feature_blocks", "sha256", "span_lexicon", "stage2_trees",
                                 MANIFEST_DIGEST_KEY)}
            stage2 = Stage2.from_arrays(arrays) if "stage2.intercept" in arrays else None
            has_trees = stage2 is not None and bool(stage2.forests)
            if has_trees != (manifest["format"] == FORMAT_TREES):
                raise ValueError(f"format {manifest['format']!r} with{'' if has_trees else 'out'} stage-2 trees")
            lexicon = None
            if "span_lexicon" in manifest:
                spec = manifest["span_lexicon"]
                lexicon = SpanLexicon(arrays[spec["array"]], float(spec["smoothing"]))
                width = len(features.word_block()[0].terms_)
                if lexicon.lift.shape != (width, len(manifest["devices"]) + 1):
                    raise ValueError(f"span lexicon of shape {lexicon.lift.shape}, expected "
                                     f"({width}, {len(manifest['devices']) + 1})")
            return cls(features, list(manifest["devices"]), arrays["coef"], arrays["intercept"],
                       arrays["thresholds"], stage2, info, lexicon)
        except (KeyError, ValueError, TypeError, IndexError) as err:
            raise ModelError(f"{folder}: the manifest and the arrays do not fit together ({type(err).__name__}: "
                             f"{err}); {RETRAIN_HINT}") from None


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON (sorted keys, no spaces),
    leaving out the key that records it."""
    content = {k: v for k, v in manifest.items() if k != MANIFEST_DIGEST_KEY}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_model_dir() -> Path:
    """The shipped model: `rhetoric/models` in an installed wheel (mapped from the
    repository's top-level `models/`), or `models/` beside the package in a
    source checkout."""
    # rhetoric.models has no __init__.py: a namespace package, for which
    # importlib.resources.files() gives a MultiplexedPath whose str() is not a
    # path (the installed model was never found); its spec lists the folders.
    spec = importlib.util.find_spec("rhetoric.models")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if (Path(location) / MANIFEST_FILE).is_file():
            return Path(location)
    return Path(__file__).resolve().parent.parent / "models"
