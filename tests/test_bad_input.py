"""Bad input, through the API and the command line: odd text never breaks
tagging or its offsets; a record that cannot be read becomes one error record
naming the file, the line (or record) and the reason, and every other record
is still tagged. Nothing is lost: records in = records out + error records.

The 50 MB single-line document runs at 1 MB by default (the bound is per MB,
so a blow-up shows at that size too); RHETORIC_LONG_TESTS=1 runs it at 50 MB.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rhetoric.cli import main
from rhetoric.tagger import Result, Tagger

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


# ----------------------------------------------------------------- the API

# (name, text): text that is legal Python `str` but odd; tagging must not
# raise and every offset must index the text exactly as given.
ODD_TEXTS = [
    ("empty", ""),
    ("whitespace only", " \t\n\r\n\u3000\u00a0 "),
    ("punctuation only", "...?!?!…\"''(([[{{"),
    ("NUL and controls", "The corrupt elites\x00 betrayed\x07 the people.\x1b[31m Vile lies!\x7f\x08"),
    ("every C0 control", "".join(map(chr, range(32))) + "Their vile, shameful lies poison everything."),
    ("C1 controls and NEL", "Their vile lies.\x85Shameful elites\x9b betrayed us.\x9f"),
    ("right to left", "الحرية للشعب. They want to erase our glorious history. שקרים מבישים!"),
    ("bidi overrides", "\u202eThe corrupt elites\u202c betrayed \u200fthe people\u200e. \u2066Vile\u2069 lies."),
    ("emoji", "The corrupt elites 😡😡 betrayed 👨‍👩‍👧‍👦 the people 🇺🇸! Vile lies 🤥. 🔥" * 3),
    ("combining marks", "The corrupt e\u0301lites betrayed the peo\u0308ple. Z̷̢͉a̸l̶g̷o̴ vile lies, shameful lies."),
    ("lowercase changes length", "İSTANBUL: THE CORRUPT ELİTES BETRAYED US. İİİ vile İ lies."),
    ("ligatures and sharp s", "The shameful ﬁend ẞ STRASSE betrayed us. Vile ﬂag lies."),
    ("lone surrogates", "Vile lies \ud800 betrayed \udfff the people. \udc80Shameful."),
    ("zero width and BOM", "\ufeffThe corrupt\u200b elites\u200d betrayed us.\u2060 Vile\ufeff lies."),
    ("line and paragraph separators", "Vile lies.\u2028Shameful elites.\u2029Next.\r\nAnother\rline\x0bvt\x0cff\x1cfs"),
    ("CJK and full width", "腐敗したエリートが国民を裏切った。They betrayed us！ Ｖｉｌｅ ｌｉｅｓ。"),
    ("astral letters", "𝐓𝐡𝐞 𝐜𝐨𝐫𝐫𝐮𝐩𝐭 elites 𝔟𝔢𝔱𝔯𝔞𝔶𝔢𝔡 us. 𐐀𐐨 vile lies."),
    ("private use and noncharacters", "\ue000\uffff\U0010ffff vile lies \ufffe\U000fffff."),
    ("long word", "a" * 20_000 + " vile lies. " + "Ш" * 5_000 + "."),
    ("digits and symbols", "1. 2) iv. 3.14 $5.00 100% #tag @user http://x.y/z?a=1&b=2 e.g. U.S.A. Mr. Smith."),
]


def check_result(result: Result, text: str) -> None:
    """The invariants every Result keeps, whatever the text."""
    assert result.text == text and result.error is None
    n = len(text)
    last_end = 0
    for start, end in result.sentences:
        assert last_end <= start < end <= n
        last_end = end
    order = [(t.start, t.end, t.device) for t in result.tags]
    assert order == sorted(order)
    for t in result.tags:
        assert 0 <= t.start < t.end <= n
        assert text[t.start:t.end] == t.text
        s_start, s_end = result.sentences[t.sentence]
        assert s_start <= t.start and t.end <= s_end
        assert 0.0 <= t.score <= 1.0 and not math.isnan(t.score)
    json.dumps(result.to_dict())  # JSON-ready (ensure_ascii escapes lone surrogates)


@pytest.fixture(scope="module")
def rules_tagger(rules) -> Tagger:
    return Tagger(None, rules)


@pytest.mark.parametrize(("name", "text"), ODD_TEXTS, ids=[n for n, _ in ODD_TEXTS])
def test_odd_text_is_tagged_with_valid_offsets(toy_tagger, rules_tagger, name: str, text: str) -> None:
    for tagger in (toy_tagger, rules_tagger):
        check_result(tagger.tag(text), text)


def test_odd_texts_in_one_batch_equal_one_by_one(toy_tagger) -> None:
    texts = [t for _, t in ODD_TEXTS]
    assert list(toy_tagger.tag_many(texts, batch_size=7)) == [toy_tagger.tag(t) for t in texts]


NOT_TEXT = [
    (None, "NoneType"),
    (b"The corrupt elites betrayed us.", "bytes"),
    (bytearray(b"vile"), "bytearray"),
    (42, "int"),
    (float("nan"), "float"),
    (["Vile lies."], "list"),
    ({"text": "Vile lies."}, "dict"),
]


@pytest.mark.parametrize(("value", "type_name"), NOT_TEXT, ids=[t for _, t in NOT_TEXT])
def test_non_text_is_refused_naming_its_type(toy_tagger, value: Any, type_name: str) -> None:
    with pytest.raises(TypeError, match=f"got {type_name}"):
        toy_tagger.tag(value)
    with pytest.raises(TypeError, match=f"got {type_name}"):
        list(toy_tagger.tag_many(["Vile lies.", value]))


def test_tag_many_skip_keeps_bad_items_in_place(toy_tagger) -> None:
    good = "Their vile, shameful lies poison everything."
    items = [good] + [v for v, _ in NOT_TEXT] + [good, ""]
    for n_jobs in (1, 2):
        results = list(toy_tagger.tag_many(((x, i) for i, x in enumerate(items)), as_tuples=True,
                                           on_error="skip", n_jobs=n_jobs, batch_size=3))
        assert [i for _, i in results] == list(range(len(items)))
        for (result, _), (_, type_name) in zip(results[1:-2], NOT_TEXT, strict=True):
            assert result.error is not None and f"got {type_name}" in result.error and not result.tags
        assert results[0][0] == results[-2][0] == toy_tagger.tag(good)
        assert results[-1][0].error is None and not results[-1][0].sentences


def test_rhetoric_tag_refuses_non_text_before_loading_anything() -> None:
    import rhetoric

    with pytest.raises(TypeError, match="got bytes"):
        rhetoric.tag(b"bytes")  # type: ignore[arg-type]


# ------------------------------------------------------- files and records

GOOD = "Their vile, shameful lies poison everything."
HISTORY = "History will not forgive those who surrender now."
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4

# file name -> (content, [(record id, None if tagged else a piece of the error)])
# ids: "{file}" for a .txt file, "{file}:{line}" for JSONL lines and for CSV
# rows without a usable id cell.
BAD_FILES: dict[str, tuple[bytes, list[tuple[str, str | None]]]] = {
    "ok.txt": (GOOD.encode(), [("{file}", None)]),
    "empty.txt": (b"", [("{file}", None)]),  # empty text: one record, no sentences
    "blank.txt": (b" \n\t\r\n", [("{file}", None)]),
    "latin1.txt": ("Café owners say the corrupt elites betrayed us.".encode("latin-1"),
                   [("{file}", "{file}: not valid utf-8 at byte 3 (try --encoding)")]),
    "binary.txt": (PNG, [("{file}", "{file}: a binary file, not text")]),
    "controls.txt": (b"The corrupt elites\x00 betrayed\x07 the people.\x1b[31m\x7f", [("{file}", None)]),
    "bom.txt": (("\ufeff" + GOOD).encode(), [("{file}", None)]),
    "rtl-emoji.txt": (("الحرية للشعب 🇵🇸. " + GOOD + " e\u0301 👨‍👩‍👧").encode(), [("{file}", None)]),
    "records.jsonl": (
        b"\xef\xbb\xbf" + json.dumps({"text": GOOD}).encode() + b"\r\n"  # a BOM, CRLF
        b'{"text": \n'
        b'{"body": "no text field"}\n'
        b'{"text": 42}\n'
        b'{"text": null}\n'
        b'{"text": NaN}\n'
        b'["a", "list"]\n'
        b'{"text": "caf\xe9: a latin-1 byte"}\n'
        b'{"text": "a lone \\ud800 surrogate"}\n'
        b"\n"
        b'{"text": ""}\n'
        + json.dumps({"text": HISTORY}).encode(),  # no newline at the end
        [("{file}:1", None),
         ("{file}:2", "{file}:2: invalid JSON"),
         ("{file}:3", "{file}:3: no field 'text'"),
         ("{file}:4", "{file}:4: field 'text' is int, not a string"),
         ("{file}:5", "{file}:5: field 'text' is NoneType, not a string"),
         ("{file}:6", "{file}:6: field 'text' is NaN, not a string"),
         ("{file}:7", "{file}:7: expected a JSON object, got list"),
         ("{file}:8", "{file}:8: not valid utf-8 (byte 0xe9"),
         ("{file}:9", "{file}:9: field 'text' holds a lone surrogate"),
         ("{file}:11", None),
         ("{file}:12", None)]),
    "table.csv": (
        b"\xef\xbb\xbfid,text\r\n"
        b"c1," + GOOD.encode() + b"\r\n"
        b"c2,\r\n"
        b"c3,NaN\r\n"
        b"c4, null \r\n"
        b"c5\r\n"
        b'c6,"caf\xe9"\r\n'
        b'c7,"a cell over\ntwo lines: the corrupt elites"\r\n'
        b"\r\n"
        b'c8,"a NUL\x00 inside"\r\n'
        b"c9," + HISTORY.encode() + b"\r\n",
        [("c1", None),
         ("c2", "{file}:3: column 'text' is empty"),
         ("c3", "{file}:4: column 'text' is 'NaN', a missing value"),
         ("c4", "{file}:5: column 'text' is 'null', a missing value"),
         ("c5", "{file}:6: the row has no cell for column 'text'"),
         ("{file}:7", "{file}:7: not valid utf-8 (byte 0xe9"),
         ("c7", None),
         ("c8", None),
         ("c9", None)]),
    "table.tsv": (b"id\ttext\nt1\t" + HISTORY.encode() + b"\nt2\tnan\n",
                  [("t1", None), ("t2", "{file}:3: column 'text' is 'nan', a missing value")]),
}


def write_bad_files(folder: Path) -> tuple[list[str], list[tuple[str, str | None]]]:
    """The files, and the records expected from them in input order."""
    paths, expected = [], []
    for name, (content, records) in BAD_FILES.items():
        path = folder / name
        path.write_bytes(content)
        paths.append(str(path))
        expected += [(rec_id.format(file=path), None if error is None else error.format(file=path))
                     for rec_id, error in records]
    return paths, expected


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_record_is_tagged_or_reported_with_file_line_and_reason(capsys, tmp_path, toy_model_dir) -> None:
    paths, expected = write_bad_files(tmp_path)
    out, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    code = main(["tag", *paths, "--model", str(toy_model_dir), "--id-field", "id", "-q",
                 "-o", str(out), "--errors", str(errors)])
    summary = capsys.readouterr().err
    tagged, failed = read_jsonl(out), read_jsonl(errors)
    assert [r["id"] for r in tagged] == [i for i, e in expected if e is None]
    assert all("error" not in r for r in tagged)
    assert [r["id"] for r in failed] == [i for i, e in expected if e is not None]
    for record, (_, reason) in zip(failed, [x for x in expected if x[1] is not None], strict=True):
        assert record["error"].startswith(reason), (record, reason)
    n_failed = len(failed)
    assert f"{len(expected)} records in, {len(expected) - n_failed} tagged, {n_failed} failed" in summary
    assert code == 1
    texts = {str(tmp_path / n): c for n, (c, _) in BAD_FILES.items() if n.endswith(".txt")}
    for record in tagged:  # offsets index the file's text as given (BOM, controls and all)
        if record["id"] in texts:
            text = texts[record["id"]].decode("utf-8")
            for t in record["tags"]:
                assert text[t["start"]:t["end"]] == t["text"]


def test_error_records_go_into_csv_output_and_to_stderr_for_tsv(capsys, tmp_path, toy_model_dir) -> None:
    paths, expected = write_bad_files(tmp_path)
    failed_ids = [i for i, e in expected if e is not None]
    code = main(["tag", *paths, "--model", str(toy_model_dir), "--id-field", "id", "-q", "--format", "csv"])
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 1 and [r["id"] for r in rows if r["error"]] == failed_ids
    assert {r["id"] for r in rows if not r["error"]} <= {i for i, e in expected if e is None}
    code = main(["tag", *paths, "--model", str(toy_model_dir), "--id-field", "id", "-q", "--format", "tsv"])
    out, err = capsys.readouterr()
    assert code == 1 and all(len(line.split("\t")) == 4 for line in out.splitlines())
    stderr_errors = [line for line in err.splitlines() if not re.search(r"\d+ records in", line)]
    assert len(stderr_errors) == len(failed_ids)
    assert all(line.startswith(f"rhetoric: {tmp_path}") for line in stderr_errors)


@pytest.mark.parametrize(
    ("encoding", "text"),
    [("latin-1", "Café owners say the corrupt elites betrayed us."),
     ("cp1252", "“Vile lies,” they said — the corrupt elites betrayed us…"),
     ("utf-16", "Their vile, shameful lies poison everything. 😡"),
     ("utf-8", "\ufeffThe BOM stays in a .txt file: offsets index the file as given.")],
)
def test_encoding_option_reads_other_encodings(capsys, tmp_path, toy_model_dir, encoding: str, text: str) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(text.encode(encoding))
    code = main(["tag", str(path), "--model", str(toy_model_dir), "--encoding", encoding, "-q"])
    out, _ = capsys.readouterr()
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and "error" not in record
    for t in record["tags"]:
        assert text[t["start"]:t["end"]] == t["text"]


@pytest.mark.parametrize("encoding", ["no-such-codec", "hex", "rot13"])
def test_unknown_encoding_is_refused_before_reading(capsys, tmp_path, encoding: str) -> None:
    path = tmp_path / "doc.txt"
    path.write_text(GOOD)
    with pytest.raises(SystemExit) as exit_info:
        main(["tag", str(path), "--encoding", encoding, "-o", str(tmp_path / "out.jsonl")])
    assert exit_info.value.code == 2 and f"unknown encoding {encoding!r}" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_a_bad_byte_fails_only_its_own_line(capsys, tmp_path, toy_model_dir) -> None:
    """A decoding error used to end the whole file (and, read in 8 KB chunks,
    take the lines before it along): now it fails one line or row."""
    lines = [json.dumps({"text": f"Record {i}: {GOOD}"}).encode() for i in range(500)]
    lines[250] = b'{"text": "caf\xe9"}'
    path = tmp_path / "many.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    rows = [b"text"] + [f"Row {i}: {HISTORY}".encode() for i in range(500)]
    rows[100] = b"caf\xe9"
    table = tmp_path / "many.csv"
    table.write_bytes(b"\n".join(rows) + b"\n")
    code = main(["tag", str(path), str(table), "--rules-only", "-q", "-o", str(tmp_path / "out.jsonl")])
    records = read_jsonl(tmp_path / "out.jsonl")
    assert code == 1 and len(records) == 1000
    assert [r["id"] for r in records if "error" in r] == [f"{path}:251", f"{table}:101"]
    assert "1,000 records in, 998 tagged, 2 failed" in capsys.readouterr().err


# ------------------------------------------------------ a huge single line

MEGABYTE = 1_000_000
LONG = os.environ.get("RHETORIC_LONG_TESTS") == "1"
BIG_MB = 50 if LONG else 1
# Generous: ~1-2 s of CPU per MB on the development machine (prose, one line,
# toy model); a quadratic step takes minutes per MB (measured before the
# fixes: 236 s for 1 MB of "Mr. ").
SECONDS_PER_MEGABYTE = 15.0
# Peak memory of the whole `rhetoric tag` process: the interpreter, numpy and
# scikit-learn take ~250 MB; tagging holds ~35 MB per MB of one-line prose
# (sentences, word lists, hits, features, the output line).
BASE_MEGABYTES = 400
MEGABYTES_PER_MEGABYTE = 80


def one_line_document(size: int, seed: int = 7) -> str:
    """`size` characters of prose on one line: random sentences over the seed
    documents' words (so no phrase repeats much), with a few hostile runs."""
    rng = random.Random(seed)
    vocabulary = sorted({w for p in SEEDS.glob("*.txt") for w in re.findall(r"[A-Za-z']+", p.read_text())})
    hostile = ["(" * 2000, "a" * 5000, "Mr. " * 500, "why? " * 500, "😡" * 1000, "e\u0301" * 1000, "." * 2000]
    parts, n = [], 0
    while n < size:
        words = rng.choices(vocabulary, k=rng.randint(6, 25))
        sentence = " ".join(words).capitalize() + rng.choice(".....?!") + " "
        if rng.random() < 0.0005:
            sentence += rng.choice(hostile) + " "
        parts.append(sentence)
        n += len(sentence)
    return "".join(parts)[:size].replace("\n", " ")


def test_a_huge_single_line_document_is_tagged_in_bounded_time_and_memory(tmp_path, toy_model_dir) -> None:
    """The same one-line document as a .txt file, a JSONL line and a CSV cell
    (far past csv's default 131,072-character field limit), one record per
    batch, in one `rhetoric tag` process whose peak memory is measured."""
    text = one_line_document(BIG_MB * MEGABYTE)
    paths = [tmp_path / "big.txt", tmp_path / "big.jsonl", tmp_path / "big.csv"]
    paths[0].write_text(text, encoding="utf-8")
    paths[1].write_text(json.dumps({"text": text}) + "\n", encoding="utf-8")
    paths[2].write_text('text\n"' + text.replace('"', '""') + '"\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    probe = ("import resource, sys; from rhetoric.cli import main; code = main(sys.argv[1:]); "
             "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
             "sys.exit(code)")
    bound = SECONDS_PER_MEGABYTE * BIG_MB * len(paths)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe, "tag", *map(str, paths), "--model", str(toy_model_dir),
                           "--batch-size", "1", "-q", "-o", str(out)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=bound + 60)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    megabytes = int(re.search(r"maxrss_kb (\d+)", done.stderr).group(1)) / 1024  # type: ignore[union-attr]
    assert "3 records in, 3 tagged, 0 failed" in done.stderr
    assert seconds < bound, f"3 x {BIG_MB} MB took {seconds:.0f} s"
    assert megabytes < BASE_MEGABYTES + MEGABYTES_PER_MEGABYTE * BIG_MB, f"{BIG_MB} MB took {megabytes:.0f} MB"
    with open(out, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    assert len(records) == 3 and records[1:] == [{**records[0], "id": r["id"]} for r in records[1:]]
    assert records[0]["sentences"] and records[0]["sentences"][-1][1] <= len(text)
    for t in records[0]["tags"]:
        assert text[t["start"]:t["end"]] == t["text"]


@pytest.mark.parametrize(
    ("data", "options", "expected"),
    [
        (b'{"text": "' + GOOD.encode() + b'"}\n{"text": "caf\xe9"}\n{"text": "' + HISTORY.encode() + b'"}\n', [],
         [("<stdin>:1", None), ("<stdin>:2", "<stdin>:2: not valid utf-8 (byte 0xe9"), ("<stdin>:3", None)]),
        (b"One plain caf\xe9 text.", [], [("<stdin>", "<stdin>: not valid utf-8 (byte 0xe9")]),
        (b"One plain caf\xe9 text.", ["--encoding", "latin-1"], [("<stdin>", None)]),
        (b"\xef\xbb\xbf" + json.dumps({"text": GOOD}).encode() + b"\n", [], [("<stdin>:1", None)]),
    ],
    ids=["jsonl with a bad line", "text with a bad byte", "text in latin-1", "jsonl with a BOM"],
)
def test_stdin_bytes_are_decoded_as_files_are(capsys, monkeypatch, data: bytes, options: list[str],
                                              expected: list[tuple[str, str | None]]) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code = main(["tag", "-", "--rules-only", "-q", *options])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for record, (rec_id, error) in zip(records, expected, strict=True):
        assert record["id"] == rec_id
        assert ("error" not in record) if error is None else record["error"].startswith(error)
    assert code == (1 if any(e for _, e in expected) else 0)
