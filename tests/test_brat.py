"""brat standoff: fragments, .ann lines, the conf files, reading back, the round
trip tag -> brat -> read, and `rhetoric evaluate --brat`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhetoric.brat import BratWriter, ann_lines, fragments, labelled_documents, read_brat
from rhetoric.cli import main
from rhetoric.corpus import Span
from rhetoric.devices import DEVICE_IDS
from rhetoric.report import DEVICE_COLOURS
from rhetoric.rules import Hit
from rhetoric.tagger import Evidence, Result, Tag

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def make_tag(text: str, device: str, start: int, end: int) -> Tag:
    return Tag(device, start, end, text[start:end], 0.75, "rule+model", 0,
               Evidence((Hit(0, start, end, f"{device}.test", device),), (("w:test", 0.5),)))


def written(folder: Path, name: str) -> tuple[str, list[str]]:
    text = (folder / f"{name}.txt").read_bytes().decode("utf-8")
    return text, (folder / f"{name}.ann").read_bytes().decode("utf-8").splitlines()


FRAGMENT_CASES = [
    ("one line", 0, 8, [(0, 8)]),
    ("abc\ndef", 0, 7, [(0, 3), (4, 7)]),
    ("ab\r\n\r\ncd", 0, 8, [(0, 2), (6, 8)]),
    ("ab\n  \ncd", 0, 8, [(0, 2), (6, 8)]),  # a whitespace-only line is no fragment
    ("xx abc\u2028def yy", 3, 10, [(3, 6), (7, 10)]),
]


@pytest.mark.parametrize(("text", "start", "end", "expected"), FRAGMENT_CASES)
def test_fragments_never_cross_a_line_break(text, start, end, expected):
    assert fragments(text, start, end) == expected


def test_ann_lines_hold_offsets_text_and_notes():
    text = "They lied\nagain and again."
    lines = ann_lines(Result(text, ((0, 26),), (make_tag(text, "doubt", 0, 15),)))
    assert lines == ["T1\tdoubt 0 9;10 15\tThey lied again",
                     "#1\tAnnotatorNotes T1\tscore 0.7500; source rule+model; rules doubt.test; features w:test +0.500"]


def test_conf_files_list_the_devices_in_the_report_colours(tmp_path):
    BratWriter(tmp_path)
    conf = (tmp_path / "annotation.conf").read_text(encoding="utf-8")
    entities = conf.split("[entities]\n")[1].split("\n\n")[0].splitlines()
    assert entities == list(DEVICE_IDS) and "<OVERLAP>" in conf
    drawing = (tmp_path / "visual.conf").read_text(encoding="utf-8").split("[drawing]\n")[1].splitlines()
    colours = {line.split("\t")[0]: line.split("bgColor:")[1].split(",")[0] for line in drawing}
    assert colours == DEVICE_COLOURS


def test_file_names_are_safe_and_unique(tmp_path):
    writer = BratWriter(tmp_path)
    names = [writer.file_name(i) for i in ("a/b.txt", "c/b.txt", "C/B.txt", "x.jsonl:3", "<stdin>", "...")]
    assert names == ["b", "b-2", "B-3", "x.jsonl_3", "stdin", "document"]


def test_round_trip_keeps_text_and_spans_exactly(tmp_path):
    text = "Headline without a stop\r\nThey lied and\nlied again.\n\nThe end"
    tags = (make_tag(text, "doubt", 25, 50), make_tag(text, "repetition", 30, 34),
            make_tag(text, "repetition", 39, 43))
    BratWriter(tmp_path)("news/today.txt", Result(text, ((0, 23), (25, 50), (52, 59)), tags))
    written_text, lines = written(tmp_path, "today")
    assert written_text == text
    for line in (ln for ln in lines if ln.startswith("T")):
        _, offsets, shown = line.split("\t")
        pieces = [tuple(map(int, p.split())) for p in offsets.split(" ", 1)[1].split(";")]
        assert " ".join(text[s:e] for s, e in pieces) == shown
        assert all("\n" not in text[s:e] and "\r" not in text[s:e] for s, e in pieces)
    (doc,) = read_brat(tmp_path)
    assert doc.id == "today" and doc.text == text
    assert sorted(doc.spans, key=lambda s: (s.start, s.device)) == [
        Span("doubt", 25, 50), Span("repetition", 30, 34), Span("repetition", 39, 43)]


def test_tag_seeds_as_brat_and_read_them_back(tmp_path, capsys, toy_model_dir):
    folder = tmp_path / "brat"
    assert main(["tag", str(SEEDS), "--format", "brat", "-o", str(folder), "--model", str(toy_model_dir)]) == 0
    assert main(["tag", str(SEEDS), "--model", str(toy_model_dir)]) == 0
    tagged = {Path(r["id"]).stem: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    docs = read_brat(folder)
    assert {d.id for d in docs} == set(tagged)
    for doc in docs:
        assert doc.text == (SEEDS / f"{doc.id}.txt").read_text(encoding="utf-8")
        expected = sorted((t["device"], t["start"], t["end"]) for t in tagged[doc.id]["tags"])
        assert sorted((s.device, s.start, s.end) for s in doc.spans) == expected


def test_read_brat_accepts_ptc_names_and_skips_other_annotations(tmp_path):
    (tmp_path / "a.txt").write_text("Not this, but that one here.", encoding="utf-8")
    (tmp_path / "a.ann").write_text(
        "T1\tLoaded_Language 0 3;14 18\tNot that\n"  # words between the pieces: two spans
        "T2\tdoubt 19 27\tone here\nR1\tRel Arg1:T1 Arg2:T2\n#1\tAnnotatorNotes T1\tfine\n", encoding="utf-8")
    (doc,) = read_brat(tmp_path)
    assert doc.spans == (Span("loaded_language", 0, 3), Span("loaded_language", 14, 18), Span("doubt", 19, 27))


@pytest.mark.parametrize(("line", "message"), [
    ("T1\tPerson 0 3\tNot", "a.ann:1: not a text-bound annotation of a known device"),
    ("T1\tdoubt 0 99\tNot", "a.ann:1: offsets 0 99 outside the 4 characters"),
    ("T1\tdoubt zero 3\tNot", "a.ann:1: not a text-bound annotation"),
])
def test_read_brat_names_the_bad_line(tmp_path, line, message):
    (tmp_path / "a.txt").write_text("Not.", encoding="utf-8")
    (tmp_path / "a.ann").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_brat(tmp_path)


def test_known_devices_come_from_annotation_conf(tmp_path):
    (tmp_path / "a.txt").write_text("Is it true? Surely not.", encoding="utf-8")
    (tmp_path / "a.ann").write_text("T1\tdoubt 0 11\tIs it true?\n", encoding="utf-8")
    (tmp_path / "annotation.conf").write_text("[entities]\ndoubt\nSlogans\n[relations]\n", encoding="utf-8")
    (doc,) = labelled_documents(tmp_path)
    assert doc.sentences == [(0, 11), (12, 23)]
    doubt, slogans, history = (DEVICE_IDS.index(d) for d in ("doubt", "slogans", "appeal_to_history"))
    assert doc.labels[:, doubt].tolist() == [1, 0] and doc.labels[:, slogans].tolist() == [0, 0]
    assert doc.labels[:, history].tolist() == [-1, -1]


def test_evaluate_brat_agrees_with_the_tagger_that_wrote_it(tmp_path, capsys, toy_model_dir):
    folder = tmp_path / "brat"
    assert main(["tag", str(SEEDS), "--format", "brat", "-o", str(folder), "--model", str(toy_model_dir)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--brat", str(folder), "--model", str(toy_model_dir), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["documents"] == 2 and rep["devices"]
    # brat holds the tags, not the model's own any-technique decision: the union is what round-trips
    assert rep["any_technique_union"]["f1"] == 1.0
    assert all(s["f1"] == 1.0 for s in rep["devices"].values())


def test_brat_format_needs_an_output_folder(capsys):
    assert main(["tag", str(SEEDS), "--format", "brat", "--rules-only"]) == 2
    assert "-o OUTDIR" in capsys.readouterr().err
