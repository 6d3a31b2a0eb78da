import numpy as np
import pytest

from rhetoric.devices import DEVICE_IDS
from rhetoric.train import (
    UNKNOWN,
    best_threshold,
    line_sentences,
    ptc_documents,
    read_project_labels,
    written_documents,
)


def test_line_sentences_strip_and_skip_blank_lines():
    text = "  One.  \n\nTwo here.\n"
    spans = line_sentences(text)
    assert [text[s:e] for s, e in spans] == ["One.", "Two here."]


@pytest.mark.parametrize("y,p,expected_range", [
    ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], (0.2, 0.8)),
    ([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], (0.1, 0.7)),
])
def test_best_threshold_separates_on_f1(y, p, expected_range):
    t = best_threshold(np.array(y), np.array(p))
    lo, hi = expected_range
    assert lo < t <= hi


def test_best_threshold_with_no_positives_never_fires():
    assert best_threshold(np.zeros(4), np.array([0.1, 0.5, 0.7, 0.9])) >= 0.9


def test_ptc_documents_label_known_and_unknown(tmp_path):
    text = "A shameful lie.\nA plain line.\n"
    (tmp_path / "article5.txt").write_text(text)
    (tmp_path / "article5.labels.tsv").write_text("5\tLoaded_Language\t2\t10\n")
    (doc,) = ptc_documents(tmp_path)
    ll, hist = DEVICE_IDS.index("loaded_language"), DEVICE_IDS.index("appeal_to_history")
    assert doc.labels[:, ll].tolist() == [1, 0]
    assert doc.labels[:, hist].tolist() == [UNKNOWN, UNKNOWN]
    assert ptc_documents(tmp_path, exclude={"5"}) == []


def test_project_labels_later_files_correct_earlier(tmp_path):
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "batch1.tsv").write_text("key\th\tu\n5:0:10\t1\t0\n5:11:20\t0\t0\n")
    (tmp_path / "labels" / "batch1_fix.tsv").write_text("key\th\tu\n5:11:20\t0\t1\n")
    assert read_project_labels(tmp_path) == {("5", 0, 10): (1, 0), ("5", 11, 20): (0, 1)}


def test_written_documents_grouped_with_offsets(tmp_path):
    (tmp_path / "written.jsonl").write_text(
        '{"id": "w1", "doc": "d1", "text": "History judges.", "appeal_to_history": 1, "us_vs_them": 0}\n'
        '{"id": "w2", "doc": "d1", "text": "They hate us.", "appeal_to_history": 0, "us_vs_them": 1}\n')
    (doc,) = written_documents(tmp_path)
    assert doc.id == "written:d1"
    assert [doc.text[s:e] for s, e in doc.sentences] == ["History judges.", "They hate us."]
    hist = DEVICE_IDS.index("appeal_to_history")
    assert doc.labels[:, hist].tolist() == [1, 0]
    assert doc.labels[0, DEVICE_IDS.index("doubt")] == UNKNOWN


def test_model_card_shows_any_technique_both_ways_and_the_lexicon():
    from rhetoric.train import model_card

    scores = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 4}
    held = {"micro_f1": 0.3, "macro_f1": 0.2, "any_technique": {"f1": 0.61}, "any_technique_union": {"f1": 0.55},
            "devices": {"doubt": scores}}
    base = {"micro_f1": 0.3, "macro_f1": 0.2, "any_technique": {"f1": 0.5}, "any_technique_union": {"f1": 0.5},
            "devices": {"doubt": scores}}
    card = model_card({"training": {"config": {"span_lexicon": True, "stage2": True}},
                       "heldout": held, "baseline_heldout": base})
    assert "| any-technique F1, 'any' column | 0.610 | – |" in card
    assert "| any-technique F1, union of the devices | 0.550 | 0.500 |" in card
    assert "rhetoric/span_lexicon.py" in card
    assert "span_lexicon" not in model_card({"training": {"config": {"span_lexicon": False}}})
