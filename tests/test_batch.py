"""Corpus-scale tagging: tag_many's worker pool, the corpus readers, and
`rhetoric tag` output, error routing, progress and resume (rhetoric.batch)."""
from __future__ import annotations

import csv
import io
import itertools
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rhetoric import batch
from rhetoric.cli import main
from rhetoric.corpus import estimate_records, iter_records
from rhetoric.tagger import IN_FLIGHT_PER_WORKER

REPO = Path(__file__).resolve().parent.parent
SENTENCES = ["The shameful elites betrayed us!", "Is this really a coincidence?",
             "The committee met on Tuesday.", "History will not forgive them."]


def doc(i: int) -> str:
    """A short document of 2 to 4 sentences, different for each i."""
    return " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(2 + i % 3)) + f" Case {i}."


def write_jsonl(path: Path, n: int, bad_every: int = 0) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            if bad_every and i % bad_every == bad_every - 1:
                f.write(json.dumps({"id": f"d{i}", "text": None}) + "\n")
            else:
                f.write(json.dumps({"id": f"d{i}", "text": doc(i)}) + "\n")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# -- tag_many's workers ----------------------------------------------------------------

def test_tag_many_in_workers_reads_a_bounded_number_of_items(toy_tagger):
    pulled = itertools.count()

    def endless():
        for i in itertools.count():
            next(pulled)
            yield doc(i)

    stream = toy_tagger.tag_many(endless(), batch_size=5, n_jobs=2)
    first = [next(stream) for _ in range(3)]
    read = next(pulled)
    stream.close()
    assert [r.text for r in first] == [doc(0), doc(1), doc(2)]
    # batches in flight, plus the one being read: memory stays flat on any stream
    assert read <= 5 * (IN_FLIGHT_PER_WORKER * 2 + 1) + 1
    assert not multiprocessing.active_children()


def test_batches_are_capped_by_characters_too(toy_tagger, monkeypatch):
    from rhetoric import tagger as tagger_module

    monkeypatch.setattr(tagger_module, "MAX_BATCH_CHARS", 100)
    sizes = []
    real = toy_tagger._tag_batch
    monkeypatch.setattr(toy_tagger, "_tag_batch", lambda texts: sizes.append(len(texts)) or real(texts))
    texts = ["x" * 40] * 5 + ["y" * 250] + ["z" * 10] * 3
    assert [r.text for r in toy_tagger.tag_many(texts, batch_size=256)] == texts
    assert sizes == [2, 2, 1, 1, 3]  # 40+40 fit in 100 characters; a long text is a batch of its own


def test_tag_many_workers_stop_when_the_input_fails(toy_tagger):
    def interrupted():
        yield from (doc(i) for i in range(20))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(toy_tagger.tag_many(interrupted(), batch_size=4, n_jobs=2))
    assert not multiprocessing.active_children()


def _sigint_as_on_a_terminal() -> None:
    # A job started in the background by a non-interactive shell (as CI may
    # run us) inherits SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: give the child the default a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _communicate_or_kill(proc: subprocess.Popen[str], timeout: float) -> str:
    """stderr of a finished child; on a timeout the whole group is killed so no
    orphaned worker keeps running after the test."""
    try:
        return proc.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise


def test_ctrl_c_stops_parent_and_workers_without_worker_tracebacks(toy_model_dir):
    script = ("import itertools, sys\nfrom rhetoric.tagger import Tagger\n"
              f"tagger = Tagger.load({str(toy_model_dir)!r})\n"
              "stream = tagger.tag_many(('They lied again. ' * 5 for _ in itertools.count()), 8, n_jobs=2)\n"
              "next(stream); print('running', flush=True)\nfor _ in stream: pass\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True,
                            preexec_fn=_sigint_as_on_a_terminal)
    assert proc.stdout is not None and proc.stdout.readline() == "running\n"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole process group
    err = _communicate_or_kill(proc, 20)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert err.count("Traceback") == 1, err  # the parent's only: the workers ignore SIGINT
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nobody left in the group


# -- readers ------------------------------------------------------------------------------

def test_csv_and_tsv_records_with_missing_cells(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text('key,body\na,"A text, with a comma\nand a line break."\nb,\nc,NaN\nd\n\ne,Fine.\n')
    records = list(iter_records([str(table)], "body", "key"))
    assert [r.id for r in records] == ["a", "b", "c", "d", "e"]
    assert records[0].text == "A text, with a comma\nand a line break." and records[4].text == "Fine."
    assert f"{table}:4" in records[1].error  # row a spans lines 2-3
    assert "is empty" in records[1].error and "missing value" in records[2].error
    assert "no cell" in records[3].error and f"{table}:6" in records[3].error  # the line the row starts on
    (tmp_path / "t.tsv").write_text("text\tother\nOne tab-separated text.\tx\n")
    (rec,) = iter_records([str(tmp_path / "t.tsv")])
    assert rec.id == f"{tmp_path / 't.tsv'}:2" and rec.text == "One tab-separated text."
    (rec,) = iter_records([str(tmp_path / "t.tsv")], "body")
    assert "no column 'body'" in rec.error


def test_quoted_globs_are_expanded_and_folders_recurse(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    for name in ("a.txt", "sub/b.txt", "sub/deeper/c.txt", "sub/labels.tsv"):
        (tmp_path / name).write_text(f"Text of {name}.")
    ids = [r.id for r in iter_records([str(tmp_path / "**" / "*.txt")])]
    assert ids == sorted(str(tmp_path / n) for n in ("a.txt", "sub/b.txt", "sub/deeper/c.txt"))
    assert [r.id for r in iter_records([str(tmp_path / "sub")])] == [str(tmp_path / "sub/b.txt"),
                                                                    str(tmp_path / "sub/deeper/c.txt")]
    (missing,) = iter_records([str(tmp_path / "*.nothing")])
    assert "no files match" in missing.error
    assert estimate_records([str(tmp_path / "**" / "*.txt"), str(tmp_path / "sub" / "labels.tsv")]) == 3


def test_stdin_is_streamed_as_jsonl_or_read_as_one_text(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO('\n{"text": "One."}\n[1]\n{"text": "Two."}\n'))
    records = list(iter_records(["-"]))
    assert [r.text for r in records] == ["One.", None, "Two."] and records[1].id == "<stdin>:3"
    monkeypatch.setattr("sys.stdin", io.StringIO("\nA plain text.\n{not json}\n"))
    assert [r.text for r in iter_records(["-"])] == ["\nA plain text.\n{not json}\n"]


# -- rhetoric tag ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv"])
def test_every_record_is_output_or_error_and_jobs_2_equals_jobs_1(capsys, toy_model_dir, tmp_path, fmt):
    src = write_jsonl(tmp_path / "in.jsonl", 30, bad_every=7)
    outputs = []
    for jobs in (1, 2):
        out, errors = tmp_path / f"out{jobs}.{fmt}", tmp_path / f"errors{jobs}.jsonl"
        code, _, err = run(capsys, "tag", src, "--model", toy_model_dir, "--format", fmt, "--id-field", "id",
                           "-o", out, "--errors", errors, "--jobs", jobs, "--batch-size", 4)
        assert code == 1 and "30 records in, 26 tagged, 4 failed" in err
        assert [json.loads(line)["id"] for line in lines(errors)] == ["d6", "d13", "d20", "d27"]
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    if fmt == "jsonl":
        assert len(lines(out)) == 26


def test_errors_stay_in_the_output_without_errors_file(capsys, toy_model_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 7, bad_every=7)
    code, out, err = run(capsys, "tag", src, "--model", toy_model_dir, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 1 and [r["error"] for r in rows if r["error"]] == [f"{src}:7: field 'text' is NoneType, "
                                                                     "not a string"]
    code, out, err = run(capsys, "tag", src, "--model", toy_model_dir, "--format", "tsv")
    assert code == 1 and f"rhetoric: {src}:7: field 'text'" in err and "failed" in err.splitlines()[-1]


def test_csv_input_to_jsonl(capsys, toy_model_dir, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("id,text\n1,The shameful elites betrayed us!\n2,\n")
    code, out, err = run(capsys, "tag", table, "--model", toy_model_dir, "--id-field", "id")
    first, second = (json.loads(line) for line in out.splitlines())
    assert code == 1 and first["id"] == "1" and first["tags"] and "empty" in second["error"]


def test_progress_bar_shows_counts_rate_and_eta(toy_tagger, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(batch, "PROGRESS_INTERVAL", 0.0)
    src = write_jsonl(tmp_path / "in.jsonl", 12)
    job = batch.CorpusJob([str(src)], str(tmp_path / "out.jsonl"), batch_size=3, progress=True)
    real_update = batch._Progress.update

    def update_after_counting(self, records, sentences):
        deadline = time.monotonic() + 5  # the count runs in a thread; wait for it here
        while self.total is None and time.monotonic() < deadline:
            time.sleep(0.01)
        real_update(self, records, sentences)

    monkeypatch.setattr(batch._Progress, "update", update_after_counting)
    counts = batch.tag_corpus(toy_tagger, job)
    err = capsys.readouterr().err
    assert counts.records == 12 and counts.failed == 0 and counts.sentences > 24
    assert "12/12 records (100%)" in err and "sentences/s" in err and "ETA 0:00:00" in err


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys, toy_model_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 3)
    code, _, err = run(capsys, "tag", src, "--model", toy_model_dir, "-o", tmp_path / "o.jsonl")
    assert code == 0 and err.splitlines() == [err.strip()] and "\r" not in err


def test_resume_needs_an_output_file(capsys, toy_model_dir, tmp_path):
    code, _, err = run(capsys, "tag", "-", "--model", toy_model_dir, "--resume")
    assert code == 2 and "-o FILE" in err


# -- resume ------------------------------------------------------------------------------

def uninterrupted(capsys, toy_model_dir, tmp_path, src, fmt, *extra):
    out = tmp_path / f"full.{fmt}"
    run(capsys, "tag", src, "--model", toy_model_dir, "--format", fmt, "-o", out, *extra)
    return out.read_bytes()


def progress_made(out: Path) -> bool:
    """Some records are done: lines in a JSONL output, or a CSV/TSV checkpoint past 0."""
    progress = Path(f"{out}.progress")
    if out.suffix == ".jsonl":
        return out.exists() and out.stat().st_size > 0
    return progress.exists() and json.loads(progress.read_text() or "{}").get("records", 0) > 0


def children(pid: int) -> list[int]:
    """Live child processes of `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_mid_run(argv: list, out: Path) -> None:
    """Start `rhetoric tag` in a subprocess, SIGKILL it once some records are
    done, and check it had not finished and that no worker outlives it."""
    proc = subprocess.Popen([sys.executable, "-m", "rhetoric", *map(str, argv)], stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 60
    while not progress_made(out) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.005)
    workers = children(proc.pid) if Path("/proc").is_dir() else []
    assert len(workers) == (2 if "--jobs" in argv else 0) or not Path("/proc").is_dir()
    proc.kill()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10  # workers check for their parent every second
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(alive, workers)), "a worker outlived its killed parent"


@pytest.mark.parametrize("fmt,extra", [("jsonl", ["--errors", "ERRORS", "--jobs", "2"]), ("tsv", [])])
def test_resume_after_sigkill_equals_an_uninterrupted_run(capsys, toy_model_dir, tmp_path, fmt, extra):
    n = 1200  # 60 batches of 20: the run is still going when the first batch lands
    src = write_jsonl(tmp_path / "in.jsonl", n, bad_every=400)
    errors = tmp_path / "errors.jsonl"
    extra = [str(errors) if a == "ERRORS" else a for a in extra]
    expected = uninterrupted(capsys, toy_model_dir, tmp_path, src, fmt, *extra)
    expected_errors = errors.read_bytes() if errors.exists() else b""
    errors.unlink(missing_ok=True)
    out = tmp_path / f"resumed.{fmt}"
    argv = ["tag", src, "--model", toy_model_dir, "--format", fmt, "-o", out, "--batch-size", 20, *extra]
    kill_mid_run(argv, out)
    assert 0 < len(out.read_bytes()) < len(expected)
    code, _, err = run(capsys, *argv, "--resume")
    assert out.read_bytes() == expected and code == 1  # 3 records fail (bad_every=400)
    assert "resumed after" in err and f"{n:,} records" not in err.split("(")[0]
    if errors.exists() or expected_errors:
        assert errors.read_bytes() == expected_errors
    assert not Path(f"{out}.progress").exists()


def test_resume_drops_a_partial_last_line_and_a_finished_run_is_left_alone(capsys, toy_model_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 10)
    expected = uninterrupted(capsys, toy_model_dir, tmp_path, src, "jsonl")
    out = tmp_path / "out.jsonl"
    head = expected.split(b"\n")
    out.write_bytes(b"\n".join(head[:4]) + b"\n" + head[4][:17])  # 4 records and a torn one
    code, _, err = run(capsys, "tag", src, "--model", toy_model_dir, "-o", out, "--resume")
    assert code == 0 and out.read_bytes() == expected and "6 records in" in err
    code, _, err = run(capsys, "tag", src, "--model", toy_model_dir, "-o", out, "--resume")
    assert code == 0 and out.read_bytes() == expected and "0 records in" in err


def test_ctrl_c_on_the_cli_exits_130_and_the_run_resumes(capsys, toy_model_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", 1200)
    out = tmp_path / "out.jsonl"
    argv = ["tag", src, "--model", toy_model_dir, "-o", out, "--batch-size", 20, "--jobs", 2]
    proc = subprocess.Popen([sys.executable, "-m", "rhetoric", *map(str, argv)], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True,
                            preexec_fn=_sigint_as_on_a_terminal)
    deadline = time.monotonic() + 60
    while not progress_made(out) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)
    err = _communicate_or_kill(proc, 20)
    assert proc.returncode == 130 and "interrupted; add --resume" in err and "Traceback" not in err
    expected = uninterrupted(capsys, toy_model_dir, tmp_path, src, "jsonl")
    assert run(capsys, *argv, "--resume")[0] == 0 and out.read_bytes() == expected
