import csv
import io
import json
from pathlib import Path

import pytest

from rhetoric.cli import main

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_devices_lists_all_twenty(capsys):
    code, out, _ = run(capsys, "devices")
    assert code == 0 and len(out.strip().splitlines()) == 20
    assert "appeal_to_history" in out and "Loaded_Language" in out
    code, out, _ = run(capsys, "devices", "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()][0] == "loaded_language"


def test_tag_seeds_jsonl_offsets_hold(capsys, toy_model_dir):
    code, out, _ = run(capsys, "tag", str(SEEDS), "--model", str(toy_model_dir))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(list(SEEDS.glob("*.txt")))
    for rec in records:
        text = Path(rec["id"]).read_text(encoding="utf-8")
        assert rec["tags"]
        for t in rec["tags"]:
            assert text[t["start"]:t["end"]] == t["text"]


def test_tag_csv_and_tsv(capsys, toy_model_dir, tmp_path):
    doc = tmp_path / "d.txt"
    doc.write_text("The shameful elites betrayed us! Is this really a coincidence?")
    code, out, _ = run(capsys, "tag", str(doc), "--model", str(toy_model_dir), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows and all(r["id"] == str(doc) for r in rows)
    code, out, _ = run(capsys, "tag", str(doc), "--model", str(toy_model_dir), "--format", "tsv")
    fields = [line.split("\t") for line in out.splitlines()]
    assert fields and all(len(f) == 4 and f[0] == str(doc) for f in fields)
    assert "Loaded_Language" in {f[1] for f in fields}


def test_tag_jsonl_input_with_fields_and_errors(capsys, toy_model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"key": "a", "body": "Their vile lies poison everything."}\n{"key": "b"}\n')
    out_file = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "tag", str(src), "--model", str(toy_model_dir), "--text-field", "body",
                       "--id-field", "key", "-o", str(out_file))
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "b"]
    assert "error" not in records[0] and "no field 'body'" in records[1]["error"]
    assert code == 1 and "2 records in, 1 tagged, 1 failed" in err


def test_tag_stdin(capsys, toy_model_dir, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("History will not forgive them."))
    code, out, _ = run(capsys, "tag", "-", "--model", str(toy_model_dir), "--threshold", "0.0")
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rec["id"] == "<stdin>" and rec["tags"]


def test_rules_only_needs_no_model(capsys, tmp_path):
    doc = tmp_path / "d.txt"
    doc.write_text("The so-called experts shamelessly lied.")
    code, out, _ = run(capsys, "tag", str(doc), "--rules-only")
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and all(t["source"] == "rule" for t in rec["tags"]) and rec["tags"]


def test_bad_model_path_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "tag", "-", "--model", str(tmp_path / "none"))
    assert code == 2 and "model file missing" in err


def test_evaluate_on_a_toy_ptc_folder(capsys, toy_model_dir, tmp_path):
    text = "The shameful elites betrayed the people.\nThe committee met on Tuesday.\n"
    (tmp_path / "article77.txt").write_text(text)
    (tmp_path / "article77.labels.tsv").write_text("77\tLoaded_Language\t4\t12\n")
    (tmp_path / "article1.txt").write_text("Trained on, so skipped.\n")
    code, out, _ = run(capsys, "evaluate", "--ptc", str(tmp_path), "--model", str(toy_model_dir), "--json")
    rep = json.loads(out)
    assert code == 0 and rep["documents"] == 1 and rep["skipped_trained_on"] == 1
    assert {"micro_f1", "macro_f1", "any_technique", "devices"} <= set(rep)


@pytest.mark.parametrize("argv", [["tag"], ["evaluate"], ["train", "--ptc", "x"]])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
