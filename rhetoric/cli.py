"""The `rhetoric` command: tag, report, devices, train, evaluate."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from rhetoric.devices import DEVICES

FORMATS = ("jsonl", "csv", "tsv", "brat")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"rhetoric: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `rhetoric tag ... | head` is fine
        return 0
    except KeyboardInterrupt:  # Ctrl-C: worker processes are stopped already
        resumable = hasattr(args, "resume") and getattr(args, "output", None)
        print("rhetoric: interrupted" + ("; add --resume to continue" if resumable else ""), file=sys.stderr)
        return 130  # 128 + SIGINT, the shell's convention


def build_parser() -> argparse.ArgumentParser:
    from rhetoric import __version__

    parser = argparse.ArgumentParser(prog="rhetoric", description="Tag rhetorical and propaganda devices "
                                                                   "in the sentences of English text.")
    parser.add_argument("--version", action="version", version=f"rhetoric {__version__}")
    sub = parser.add_subparsers(title="commands")

    tag = sub.add_parser("tag", help="tag .txt files, folders, globs, JSONL, CSV/TSV or stdin")
    tag.add_argument("paths", nargs="+", metavar="PATH",
                     help=".txt, .jsonl, .csv or .tsv (with a header row), a folder (its .txt and .jsonl files, "
                          "recursively), a glob (quoted is fine), or - for stdin")
    tag.add_argument("-o", "--output", help="output file (default: stdout); with --format brat, the output folder")
    tag.add_argument("--format", choices=FORMATS, default="jsonl",
                     help="jsonl: a record per document; csv: a row per tag; tsv: PTC `id technique start end`; "
                          "brat: <id>.txt/<id>.ann pairs and brat's .conf files in the folder -o names")
    _add_tagging_options(tag)
    tag.add_argument("--batch-size", type=int, default=256, help="records per batch (default: 256)")
    tag.add_argument("--errors", metavar="FILE",
                     help="write error records ({id, error} JSON lines) to FILE instead of the output")
    tag.add_argument("--resume", action="store_true",
                     help="continue an interrupted run: keep the complete records already in -o FILE, append the rest")
    tag.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    tag.set_defaults(run=run_tag)

    report = sub.add_parser("report", help="one self-contained HTML page of tagged documents")
    report.add_argument("paths", nargs="+", metavar="PATH", help=".txt, .jsonl, a folder, or - for stdin")
    report.add_argument("-o", "--output", required=True, help="the HTML file to write (- for stdout)")
    report.add_argument("--title", default="rhetoric report", help="the page title")
    _add_tagging_options(report)
    report.set_defaults(run=run_report)

    devices = sub.add_parser("devices", help="list the devices")
    devices.add_argument("--json", action="store_true")
    devices.set_defaults(run=run_devices)

    train = sub.add_parser("train", help="train the model on the PTC corpus")
    train.add_argument("--ptc", required=True, help="PTC folder (train/ and dev/ inside, or one folder)")
    train.add_argument("--out", required=True, help="folder to write the model to")
    train.add_argument("--project-data", help="folder of the project's appeal_to_history / us_vs_them labels")
    train.add_argument("--memes", help="SemEval-2021 Task 6 folder, extra examples for rare devices")
    train.add_argument("--char-ngrams", action="store_true",
                       help="add character n-grams (more accurate, about 4x slower tagging)")
    train.set_defaults(run=run_train)

    evaluate = sub.add_parser("evaluate", help="sentence-level P/R/F1 on PTC articles the model did not train on")
    gold = evaluate.add_mutually_exclusive_group(required=True)
    gold.add_argument("--ptc", help="PTC folder")
    gold.add_argument("--brat", help="brat folder (<id>.txt/<id>.ann pairs, e.g. corrected `tag --format brat` output)")
    evaluate.add_argument("--project-data", help="also score appeal_to_history / us_vs_them on held-out labels")
    evaluate.add_argument("--model", help="model folder (default: the shipped model)")
    evaluate.add_argument("--threshold", type=float, help="one probability cut-off for every device")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(run=run_evaluate)
    return parser


def _add_tagging_options(command: argparse.ArgumentParser) -> None:
    """How input is read and tagged: shared by `tag` and `report`, which read alike."""
    command.add_argument("--threshold", type=float, help="one probability cut-off for every device")
    command.add_argument("--text-field", default="text",
                         help="JSONL field or CSV column holding the text (default: text)")
    command.add_argument("--id-field", help="JSONL field or CSV column holding the document id (default: file:line)")
    command.add_argument("--encoding", default="utf-8", type=_encoding, help="encoding of input files (default: utf-8)")
    command.add_argument("--model", help="model folder (default: the shipped model)")
    command.add_argument("--rules-only", action="store_true", help="tag with the rules alone")
    command.add_argument("--jobs", type=int, default=1, help="worker processes (default: 1)")


# -- tag -------------------------------------------------------------------------------

def run_tag(args: argparse.Namespace) -> int:
    from rhetoric.tagger import Tagger

    brat = args.format == "brat"
    if brat and not args.output:
        raise ValueError("--format brat writes a folder of .txt/.ann pairs: name it with -o OUTDIR")
    tagger = Tagger.load(args.model, threshold=args.threshold, rules_only=args.rules_only)
    if not brat:
        return _tag_corpus(args, tagger)
    failed = total = 0
    writer = _brat_writer(args.output)
    for doc_id, result in _tagged(args, tagger):
        total += 1
        if result.error is not None:
            failed += 1
        writer(doc_id, result)
    if failed:
        print(f"rhetoric: {failed} of {total} records failed", file=sys.stderr)
    return 1 if failed else 0


def _tag_corpus(args: argparse.Namespace, tagger: Any) -> int:
    """jsonl/csv/tsv output: streamed, in input order, resumable (rhetoric.batch)."""
    from rhetoric.batch import CorpusJob, tag_corpus

    job = CorpusJob(args.paths, args.output, args.format, args.text_field, args.id_field, args.encoding,
                    args.jobs, args.batch_size, args.errors, args.resume,
                    progress=not args.quiet and sys.stderr.isatty())
    counts = tag_corpus(tagger, job)
    print(counts.summary(), file=sys.stderr)
    return 1 if counts.failed or counts.failed_before else 0


def _tagged(args: argparse.Namespace, tagger: Any) -> Iterator[tuple[str, Any]]:
    """(id, Result) for every input record, in input order; a record that could
    not be read comes as a Result whose `error` says why."""
    from rhetoric.corpus import iter_records
    from rhetoric.tagger import Result

    records = iter_records(args.paths, args.text_field, args.id_field, args.encoding)
    pairs = ((r.text if r.error is None else _Unreadable(r.error), r) for r in records)
    for result, record in tagger.tag_many(pairs, n_jobs=args.jobs, as_tuples=True, on_error="skip"):
        yield record.id, (Result("", error=record.error) if record.error is not None else result)


def _brat_writer(folder: str) -> Any:
    from rhetoric.brat import BratWriter

    return BratWriter(folder)


# -- report ------------------------------------------------------------------------------

def run_report(args: argparse.Namespace) -> int:
    from rhetoric.report import to_html
    from rhetoric.tagger import Tagger

    tagger = Tagger.load(args.model, threshold=args.threshold, rules_only=args.rules_only)
    ids, results = [], []
    for doc_id, result in _tagged(args, tagger):
        ids.append(doc_id)
        results.append(result)
    page = to_html(results, ids, title=args.title, subtitle=_tagged_by(args, tagger))
    with _open_output(None if args.output == "-" else args.output) as out:
        out.write(page)
    failed = sum(r.error is not None for r in results)
    if failed:
        print(f"rhetoric: {failed} of {len(results)} records failed (listed in the report)", file=sys.stderr)
    return 1 if failed else 0


def _tagged_by(args: argparse.Namespace, tagger: Any) -> str:
    """The report's subtitle: which tagger made the tags."""
    if tagger.model is None:
        how = "the rules alone (no model)"
    else:
        how = f"model {args.model}" if args.model else "the shipped model"
    cut = f", one cut-off {args.threshold} for every device" if args.threshold is not None else ""
    return f"Tagged by {how}{cut}."


class _Unreadable:
    """Stands in for a record that could not be read, so it flows through
    tag_many (which turns non-text into an error Result) and keeps its place."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class _open_output:
    def __init__(self, path: str | None) -> None:
        self.path = path

    def __enter__(self) -> IO[str]:
        self.handle = open(self.path, "w", encoding="utf-8", newline="") if self.path else sys.stdout
        return self.handle

    def __exit__(self, *exc: Any) -> None:
        if self.path:
            self.handle.close()
        else:
            self.handle.flush()


# -- devices, train, evaluate ------------------------------------------------------------

def run_devices(args: argparse.Namespace) -> int:
    if args.json:
        for d in DEVICES:
            print(json.dumps({"id": d.id, "name": d.name, "definition": d.definition, "ptc": d.ptc_alias}))
        return 0
    width = max(len(d.id) for d in DEVICES)
    for d in DEVICES:
        print(f"{d.id:{width}}  {d.definition}  [{d.ptc_alias or 'project label'}]")
    return 0


def run_train(args: argparse.Namespace) -> int:
    import logging

    from rhetoric.evaluate import format_report
    from rhetoric.train import Sources, TrainingConfig, train

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    sources = Sources(Path(args.ptc), _opt_path(args.project_data), _opt_path(args.memes))
    model = train(sources, args.out, TrainingConfig(char_ngrams=args.char_ngrams))
    print(f"model written to {args.out}", file=sys.stderr)
    if "heldout" in model.info:
        print(format_report(model.info["heldout"], "held-out documents:"))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from rhetoric.evaluate import evaluate_docs, format_report
    from rhetoric.tagger import Tagger
    from rhetoric.train import add_project_labels, holdout_ids, ptc_documents

    tagger = Tagger.load(args.model, threshold=args.threshold)
    if args.brat:
        return _evaluate_brat(args, tagger)
    trained_on = set(tagger.model.info.get("training", {}).get("ptc_articles", [])) if tagger.model else set()
    docs = ptc_documents(args.ptc)
    skipped = sum(d.id in trained_on for d in docs)
    docs = [d for d in docs if d.id not in trained_on]
    if args.project_data:
        docs = add_project_labels(docs, args.project_data)
        # the project's written documents: only the held-out ones were never trained on
        held_out = holdout_ids()
        docs = [d for d in docs if not d.id.startswith("written:") or d.id in held_out]
    if not docs:
        raise ValueError(f"{args.ptc}: every article there was used to train the model; nothing to evaluate")
    rep = evaluate_docs(tagger, docs)
    rep["documents"] = len(docs)
    rep["skipped_trained_on"] = skipped
    if args.json:
        print(json.dumps(rep, indent=1))
    else:
        print(format_report(rep, f"{len(docs)} documents not seen in training "
                                 f"({skipped} articles skipped: the model trained on them)"))
    return 0


def _evaluate_brat(args: argparse.Namespace, tagger: Any) -> int:
    """Gold from a brat folder, sentence units from the library's splitter."""
    from rhetoric.brat import labelled_documents
    from rhetoric.evaluate import evaluate_docs, format_report

    if args.project_data:
        raise ValueError("--project-data goes with --ptc, not --brat")
    docs = labelled_documents(args.brat)
    rep = evaluate_docs(tagger, docs)
    rep["documents"] = len(docs)
    if args.json:
        print(json.dumps(rep, indent=1))
    else:
        print(format_report(rep, f"{len(docs)} brat documents in {args.brat}"))
    return 0


def _encoding(name: str) -> str:
    """--encoding: a text codec Python knows, refused before any file is opened."""
    try:
        "a".encode(name)  # LookupError for unknown names and for codecs that are not text codecs (hex, rot13)
    except LookupError:
        raise argparse.ArgumentTypeError(f"unknown encoding {name!r} (try utf-8, latin-1, cp1252, utf-16)") from None
    return name


def _opt_path(value: str | None) -> Path | None:
    return Path(value) if value else None
