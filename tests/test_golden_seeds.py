"""Golden labels for appeal_to_history and us_vs_them on the two seed documents
(tests/golden/seeds_history_us_them.json, labelled by hand from the guideline).

The file has to stay aligned with the library's splitter. The shipped model must
not fall below a sentence-level F1 floor against these labels."""
import json
from pathlib import Path

import pytest

from rhetoric.model import default_model_dir
from rhetoric.text import split_sentences

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "seeds_history_us_them.json"
SEEDS = ROOT / "seeds"
DEVICES = ("appeal_to_history", "us_vs_them")

# Sentence-level F1 of the shipped model against the golden labels, both seeds
# pooled, measured when the model was trained. The floor is the measured
# figure minus 0.1, rounded down to a multiple of 0.05 (and never below 0);
# where that leaves 0, the model must still find at least one golden sentence.
#   appeal_to_history: measured 0.435 (tp 5, fp 1, fn 12)  -> floor 0.30
#   us_vs_them:        measured 0.028 (tp 1, fp 36, fn 33) -> floor 0 (at least one found)
# History: session 1 model 0.207 and 0.091; session 2 model 0.240 and 0.032;
# session 3 model 0.167 and 0.033. The session-4 model is the first trained on
# whole PTC articles labelled by three passes (data/history_us_them, round 4):
# us_vs_them rose from 1 to 7 golden sentences found, though it still fires on
# much of the anti-CCP commentary of seed 000 (golden: analysis, not
# us-versus-them) and misses most nationalist comments of seed 004. The
# session-5 model (5,758 more written sentences, in long documents) finds 5
# history sentences (was 3) but 1 us_vs_them one (was 7; false alarms 36,
# was 43), while on the held-out part us_vs_them rose from 0.563 to 0.627.
# Most golden us_vs_them sentences blame a state from the writer's own
# nation's side without "we" in the sentence; the written set labels such
# sentences 1 as well (data/history_us_them/DATA_CARD.md, known limits),
# yet the model misses them here: 34 sentences, too few to tune to.
# Raise the floors as models improve.
F1_FLOOR = {"appeal_to_history": 0.30, "us_vs_them": 0.0}


def _golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def _seed_text(name: str) -> str:
    with open(SEEDS / name, encoding="utf-8") as f:
        return f.read()


def test_golden_covers_exactly_the_seeds():
    assert sorted(_golden()["documents"]) == sorted(p.name for p in SEEDS.glob("*.txt"))


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("*.txt")))
def test_golden_spans_match_splitter_and_text(name):
    rows = _golden()["documents"][name]
    text = _seed_text(name)
    assert [(r["start"], r["end"]) for r in rows] == [tuple(s) for s in split_sentences(text)], (
        "the splitter changed: re-align tests/golden/seeds_history_us_them.json (and re-check its labels)")
    for i, r in enumerate(rows):
        assert text[r["start"]:r["end"]] == r["text"], f"{name} sentence {i}"
        for d in DEVICES:
            assert r[d] in (0, 1), f"{name} sentence {i} {d}"


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@pytest.mark.skipif(not (default_model_dir() / "manifest.json").is_file(),
                    reason="no trained model in models/ (no manifest.json; run `rhetoric train`)")
def test_shipped_model_f1_against_golden():
    from rhetoric.tagger import Tagger

    tagger = Tagger.load()
    counts = {d: [0, 0, 0] for d in DEVICES}  # tp, fp, fn
    for name, rows in _golden()["documents"].items():
        result = tagger.tag(_seed_text(name))
        assert [tuple(s) for s in result.sentences] == [(r["start"], r["end"]) for r in rows]
        for d in DEVICES:
            pred = {t.sentence for t in result.tags if t.device == d}
            gold = {i for i, r in enumerate(rows) if r[d]}
            counts[d][0] += len(pred & gold)
            counts[d][1] += len(pred - gold)
            counts[d][2] += len(gold - pred)
    scores = {d: _f1(*c) for d, c in counts.items()}
    for d in DEVICES:
        assert scores[d] >= F1_FLOOR[d], f"{d}: F1 {scores[d]:.3f} < floor {F1_FLOOR[d]} (tp, fp, fn = {counts[d]})"
        assert counts[d][0] >= 1, f"{d}: no golden sentence found (tp, fp, fn = {counts[d]})"
