import json

import pytest

from rhetoric.corpus import Span, iter_records, read_ptc, read_semeval_memes, sentence_labels


def test_read_ptc_offsets(tmp_path):
    text = "First sentence here.\nA loaded, shameful second one.\n\nThird.\n"
    (tmp_path / "article1.txt").write_text(text, encoding="utf-8")
    start = text.index("shameful")
    (tmp_path / "article1.labels.tsv").write_text(f"1\tLoaded_Language\t{start}\t{start + 8}\n")
    (tmp_path / "article2.txt").write_text("No labels file.\n")
    docs = read_ptc(tmp_path)
    assert [d.id for d in docs] == ["1", "2"]
    span = docs[0].spans[0]
    assert (span.device, docs[0].text[span.start:span.end]) == ("loaded_language", "shameful")
    assert docs[1].spans == ()


def test_read_ptc_keeps_carriage_returns(tmp_path):
    text = "One.\r\nTwo words.\r\n"
    (tmp_path / "article9.txt").write_bytes(text.encode())
    (tmp_path / "article9.labels.tsv").write_text("9\tDoubt\t6\t11\n")
    doc = read_ptc(tmp_path)[0]
    assert doc.text[6:11] == "Two w"


def test_read_ptc_bad_label_line_names_file_and_line(tmp_path):
    (tmp_path / "article1.txt").write_text("x")
    (tmp_path / "article1.labels.tsv").write_text("1\tNot_A_Technique\t0\t1\n")
    with pytest.raises(ValueError, match=r"article1.labels.tsv:1"):
        read_ptc(tmp_path)


def test_read_ptc_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no article"):
        read_ptc(tmp_path)


def test_read_memes_drops_uncatalogued(tmp_path):
    memes = [{"id": "5", "text": "VOTE NOW\nOR LOSE IT ALL", "labels": [
        {"start": 0, "end": 8, "technique": "Slogans", "text_fragment": "VOTE NOW"},
        {"start": 9, "end": 23, "technique": "Smears", "text_fragment": "OR LOSE IT ALL"}]}]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(memes))
    (doc,) = read_semeval_memes(path)
    assert doc.id == "meme5" and doc.spans == (Span("slogans", 0, 8),)


@pytest.mark.parametrize("span,expected", [
    (Span("doubt", 0, 3), [{"doubt"}, set()]),
    (Span("doubt", 8, 12), [set(), {"doubt"}]),
    (Span("doubt", 4, 12), [{"doubt"}, {"doubt"}]),   # a span across two sentences
    (Span("doubt", 5, 6), [set(), set()]),            # between sentences
])
def test_sentence_labels_by_overlap(span, expected):
    assert sentence_labels([span], [(0, 5), (6, 12)]) == expected


def test_iter_records_mixed_inputs(tmp_path):
    (tmp_path / "a.txt").write_text("Plain text.")
    (tmp_path / "b.jsonl").write_text('{"id": 7, "body": "hello"}\nnot json\n{"id": 8}\n{"id": 9, "body": 3}\n')
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe bad")
    records = list(iter_records([str(tmp_path), str(tmp_path / "missing.txt")], "body", "id"))
    assert [r.id for r in records][:2] == [str(tmp_path / "a.txt"), "7"]
    assert records[0].text == "Plain text."
    errors = [r.error for r in records if r.error]
    assert len(records) == 7 and len(errors) == 5
    assert "invalid JSON" in errors[0] and "b.jsonl:2" in errors[0]
    assert "no field 'body'" in errors[1]
    assert "not a string" in errors[2]
    assert "c.txt" in errors[3] and "--encoding" in errors[3]
    assert "no such file" in errors[4]
