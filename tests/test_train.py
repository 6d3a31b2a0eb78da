
import numpy as np
import pytest

from rhetoric.devices import DEVICE_IDS
from rhetoric.train import (
    UNKNOWN,
    best_threshold,
    line_sentences,
    ptc_documents,
    read_project_labels,
    written_batches,
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


def test_written_batches_pool_the_short_files_and_keep_each_later_file_apart(tmp_path):
    record = '{{"id": "{}", "doc": "{}", "text": "A line.", "appeal_to_history": 0, "us_vs_them": 0}}\n'
    (tmp_path / "written.jsonl").write_text(record.format("w1", "d1"))
    (tmp_path / "written_3.jsonl").write_text(record.format("y1", "d3"))
    (tmp_path / "written_4.jsonl").write_text(record.format("z1", "d4") + record.format("z2", "d4"))
    (tmp_path / "written_5.jsonl").write_text(record.format("z3", "d5"))
    batches = written_batches(tmp_path)
    assert batches["written:d1"] == batches["written:d3"] == batches["y1"] == "written 1-3"
    assert batches["written:d4"] == batches["z2"] == "written 4"
    assert batches["written:d5"] == "written 5"
    assert len(batches) == 9  # four documents and five sentences


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


def test_grouped_folds_seed_gives_another_partition_that_keeps_documents_whole():
    from rhetoric.train import grouped_folds

    groups = np.repeat([f"d{i}" for i in range(20)], 3)
    plain = grouped_folds(groups, 5)
    seeded = grouped_folds(groups, 5, seed=1)
    assert [te.tolist() for _, te in grouped_folds(groups, 5, seed=1)] == [te.tolist() for _, te in seeded]
    assert {tuple(te) for _, te in plain} != {tuple(te) for _, te in seeded}
    for folds in (plain, seeded):
        assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(len(groups)))
        for train_idx, test_idx in folds:
            assert not set(groups[train_idx]) & set(groups[test_idx])


def test_round3_sample_is_labelled_and_never_held_out():
    """data/history_us_them round 3 (ptc_sample_3*.tsv): every sampled line has
    first labels (labels/batch5.tsv, batch6.tsv), none comes from a held-out
    article or repeats an earlier round, and every second label
    (labels/double_round3.tsv) is of a sampled line."""
    from pathlib import Path

    from rhetoric.train import holdout_ids

    root = Path(__file__).resolve().parent.parent / "data" / "history_us_them"
    rows = [line.split("\t") for name in ("ptc_sample_3.tsv", "ptc_sample_3b.tsv")
            for line in (root / name).read_text(encoding="utf-8").splitlines()[1:]]
    keys = {(a, int(s), int(e)) for a, s, e, _ in rows}
    assert len(keys) == len(rows)
    labels = read_project_labels(root)
    assert keys <= set(labels)
    assert not {a for a, _, _ in keys} & holdout_ids()
    earlier = {tuple(line.split("\t")[:3]) for line in
               (root / "ptc_sample.tsv").read_text(encoding="utf-8").splitlines()[1:]}
    assert not {(a, str(s), str(e)) for a, s, e in keys} & earlier
    second = [line.split("\t")[0].split(":") for line in
              (root / "labels" / "double_round3.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    assert len(second) >= 100 and {(a, int(s), int(e)) for a, s, e in second} <= keys


def test_label_passes_take_the_majority_per_device():
    from rhetoric.train import LabelPasses

    passes = LabelPasses(second={"a": (1, 0), "b": (0, 1), "c": (1, 1)}, third={"b": (1, 0), "c": (0, 0)})
    assert passes.decide("a", (1, 0)) == (1, 0)     # the two passes agree: no third label needed
    assert passes.decide("b", (0, 0)) == (0, 0)     # history agreed (0); us_vs_them 0 vs 1, third says 0
    assert passes.decide("c", (0, 0)) == (0, 0)     # third pass sides with the first on both
    assert passes.decide("c", (1, 0)) == (1, 0)     # history agreed at 1; us_vs_them third says 0
    assert LabelPasses({"b": (0, 1)}, {"b": (0, 1)}).decide("b", (0, 0)) == (0, 1)  # second and third outvote
    assert passes.decide("d", (0, 1)) == (0, 1)     # no second pass: the first label stands
    assert LabelPasses({"e": (0, 1)}, {}).decide("e", (0, 0)) == (0, 0)  # third pass missing: first stands


def test_project_labels_read_the_passes(tmp_path):
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "batch1.tsv").write_text("key\th\tu\n5:0:10\t1\t0\n5:11:20\t0\t0\n")
    (tmp_path / "labels" / "pass2.tsv").write_text("key\th\tu\n5:0:10\t1\t0\n5:11:20\t0\t1\nw1\t0\t0\n")
    (tmp_path / "labels" / "pass3.tsv").write_text("key\th\tu\n5:11:20\t0\t1\nw1\t1\t0\n")
    (tmp_path / "written.jsonl").write_text(
        '{"id": "w1", "doc": "d1", "text": "They hate us.", "appeal_to_history": 0, "us_vs_them": 1}\n')
    assert read_project_labels(tmp_path) == {("5", 0, 10): (1, 0), ("5", 11, 20): (0, 1)}
    assert read_project_labels(tmp_path, first_only=True)[("5", 11, 20)] == (0, 0)
    hist, uvt = DEVICE_IDS.index("appeal_to_history"), DEVICE_IDS.index("us_vs_them")
    (doc,) = written_documents(tmp_path)
    assert (doc.labels[0, hist], doc.labels[0, uvt]) == (0, 0)  # history agreed; us_vs_them: second and third
    (doc,) = written_documents(tmp_path, first_only=True)
    assert (doc.labels[0, hist], doc.labels[0, uvt]) == (0, 1)


def test_shipped_labels_every_sentence_has_two_passes_and_every_disagreement_a_third():
    from pathlib import Path

    from rhetoric.train import first_labels, label_passes

    root = Path(__file__).resolve().parent.parent / "data" / "history_us_them"
    passes = label_passes(root)
    first = first_labels(root)
    assert len(first) > 4000 and set(first) <= set(passes.second)
    disagree = [k for k, v in first.items() if passes.second[k] != v]
    assert disagree and set(disagree) <= set(passes.third)
