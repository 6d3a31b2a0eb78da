"""Measure every rule's sentence-level precision and write the weights file.

    PYTHONPATH=. python scripts/measure_rules.py --ptc ../shared/data/ptc \\
        --project data/history_us_them --out rhetoric/lexicons/precision.json

PTC articles (less the held-out ones) measure the rules of the 18 PTC devices:
sentences from rhetoric.text.split_sentences, labels from
rhetoric.corpus.sentence_labels. The project's labelled sample (PTC lines
labelled for appeal_to_history / us_vs_them, plus its written sentences)
measures the rules of those two devices. Mined rules are measured by
cross-fitting (see crossfit_mined). Prints a table (rule, fires,
precision, lift over the device's base rate) and a per-device coverage
summary; with --out, writes the counts that RuleSet.load turns into weights
and override flags.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rhetoric.corpus import Document, read_ptc, sentence_labels
from rhetoric.devices import DEVICE_IDS, PTC_DEVICE_IDS
from rhetoric.rules import (
    DeviceStats,
    LabelledSentences,
    RuleSet,
    RuleStats,
    is_override,
    measure,
    weight_from_counts,
)
from rhetoric.train import holdout_ids

PROJECT_DEVICES = ("appeal_to_history", "us_vs_them")
# The documents kept aside for the final evaluation (rhetoric/data/holdout.txt,
# made by scripts/make_holdout.py): never used to weigh or prune rules.
DEFAULT_HOLDOUT = Path(__file__).resolve().parent.parent / "rhetoric" / "data" / "holdout.txt"


def ptc_documents(ptc_dir: Path, exclude: set[str]) -> list[Document]:
    """PTC articles under `ptc_dir` (one split or the root of several)."""
    folders = sorted({p.parent for p in ptc_dir.rglob("article*.txt")})
    return [doc for folder in folders for doc in read_ptc(folder) if doc.id not in exclude]


def ptc_samples(docs: Sequence[Document]) -> list[LabelledSentences]:
    """PTC articles split by the library's splitter, labelled for the 18 PTC devices."""
    from rhetoric.text import split_sentences

    known = frozenset(PTC_DEVICE_IDS)
    samples = []
    for doc in docs:
        sentences = split_sentences(doc.text)
        positive = sentence_labels(doc.spans, sentences)
        samples.append(LabelledSentences(doc.text, sentences, positive, [known] * len(sentences)))
    return samples


def remine(ruleset: RuleSet, docs: Sequence[Document], device: str) -> tuple[str, ...]:
    """The terms scripts/mine_lexicons.py would mine for `device` from `docs`."""
    from mine_lexicons import candidates, count_terms, covered_terms

    return tuple(term for term, _ in candidates(count_terms(docs, device), *covered_terms(ruleset, device)))


def crossfit_mined(ruleset: RuleSet, docs: Sequence[Document]) -> dict[str, RuleStats]:
    """Honest figures for the mined rules: their terms were chosen on these very
    articles, so measuring them here would flatter them. Instead the mining
    procedure (scripts/mine_lexicons.py) is re-run on half of the articles and
    its terms measured on the other half, both ways (2 folds by article
    order), and the counts added up."""
    mined = [d for d in ruleset.definitions if d.id.endswith(".mined")]
    totals: dict[str, RuleStats] = {d.id: RuleStats(0, 0) for d in mined}
    for fold in (0, 1):
        train = [doc for i, doc in enumerate(docs) if i % 2 != fold]
        test = [doc for i, doc in enumerate(docs) if i % 2 == fold]
        refit = {d.id: replace(d, terms=remine(ruleset, train, d.device)) for d in mined}
        fold_rules = RuleSet([refit.get(d.id, d) for d in ruleset.definitions])
        stats = measure(fold_rules, ptc_samples(test))[0]
        for rule_id in totals:
            totals[rule_id] = RuleStats(totals[rule_id].fires + stats[rule_id].fires,
                                        totals[rule_id].correct + stats[rule_id].correct)
    return totals


def project_samples(project_dir: Path, ptc_dir: Path, exclude: set[str]) -> list[LabelledSentences]:
    """The project's labels: the PTC lines of its sample (only those lines, in
    their article) and its written documents; labelled for its two devices."""
    from rhetoric.train import read_project_labels, written_documents

    known = frozenset(PROJECT_DEVICES)
    by_article: dict[str, list[tuple[int, int, set[str]]]] = {}
    for (article, start, end), flags in read_project_labels(project_dir).items():
        if article not in exclude:
            carried = {d for d, flag in zip(PROJECT_DEVICES, flags, strict=True) if flag == 1}
            by_article.setdefault(article, []).append((start, end, carried))
    samples = []
    for article, rows in sorted(by_article.items()):
        paths = list(ptc_dir.rglob(f"article{article}.txt"))
        if not paths:
            continue
        text = paths[0].read_bytes().decode("utf-8")
        rows.sort(key=lambda r: r[0])
        samples.append(LabelledSentences(text, [(s, e) for s, e, _ in rows],
                                         [p for _, _, p in rows], [known] * len(rows)))
    for doc in written_documents(project_dir):
        if doc.id in exclude:  # held-out written documents
            continue
        # a row of the label matrix has one column per DEVICE_IDS entry: 1, 0 or -1 (unknown)
        positive = [{DEVICE_IDS[j] for j, flag in enumerate(row) if flag == 1} & known for row in doc.labels]
        samples.append(LabelledSentences(doc.text, doc.sentences, positive, [known] * len(positive)))
    return samples


def print_report(ruleset: RuleSet, stats: dict[str, RuleStats], devices: dict[str, DeviceStats]) -> None:
    """The per-rule table and the per-device coverage summary."""
    print(f"{'rule':50} {'fires':>6} {'corr':>5} {'prec':>6} {'base':>6} {'lift':>5} {'ovr':>3}")
    for rule in ruleset.rules:
        s = stats[rule.id]
        base = devices[rule.device].base_rate if rule.device in devices else 0.0
        lift = s.precision / base if base and s.fires else 0.0
        flag = "yes" if s.fires and is_override(s.fires, s.correct) else ""
        print(f"{rule.id:50} {s.fires:6d} {s.correct:5d} {s.precision:6.3f} {base:6.3f} {lift:5.1f} {flag:>3}")
    print(f"\n{'device':27} {'rules':>5} {'labelled':>8} {'carrying':>8} {'base':>6} "
          f"{'fired':>6} {'prec':>6} {'recall':>6}")
    for device in DEVICE_IDS:
        d = devices.get(device, DeviceStats(0, 0, 0, 0))
        n_rules = sum(r.device == device for r in ruleset.rules)
        print(f"{device:27} {n_rules:5d} {d.labelled:8d} {d.carrying:8d} {d.base_rate:6.3f} "
              f"{d.fired:6d} {d.precision:6.3f} {d.recall:6.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ptc", type=Path, required=True, help="PTC folder (train/, or the root)")
    parser.add_argument("--project", type=Path, help="data/history_us_them (labels for the two project devices)")
    parser.add_argument("--exclude", type=Path, default=DEFAULT_HOLDOUT,
                        help=f"article ids to leave out (default {DEFAULT_HOLDOUT})")
    parser.add_argument("--rules", type=Path, help="rule directory (default: the built-in one)")
    parser.add_argument("--no-crossfit", action="store_true",
                        help="measure mined rules directly on the data they were mined from (optimistic)")
    parser.add_argument("--out", type=Path, help="write the measurements here (e.g. rhetoric/lexicons/precision.json)")
    args = parser.parse_args(argv)

    exclude = holdout_ids(args.exclude)
    ruleset = RuleSet.load(args.rules)
    docs = ptc_documents(args.ptc, exclude)
    samples = ptc_samples(docs)
    if args.project:
        samples += project_samples(args.project, args.ptc, exclude)
    stats, devices = measure(ruleset, samples)
    if not args.no_crossfit:
        stats.update(crossfit_mined(ruleset, docs))
    print_report(ruleset, stats, devices)
    if args.out:
        write_precision(args.out, ruleset, stats, args, len(exclude))
        print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


def write_precision(out: Path, ruleset: RuleSet, stats: dict[str, RuleStats],
                    args: argparse.Namespace, excluded: int) -> None:
    data = {
        "about": ("Sentence-level firings of each rule on labelled data, written by "
                  "scripts/measure_rules.py; RuleSet.load turns them into weights "
                  "((correct + 1) / (fires + 2)) and override flags (precision >= 0.6 "
                  "over >= 30 firings). Rules absent here, or that never fired, weigh 0.5."),
        "measured_on": {"ptc": args.ptc.name, "project": args.project.name if args.project else None,
                        "held_out_articles_excluded": excluded,
                        "sentences": "rhetoric.text.split_sentences (PTC); labelled lines (project)"},
        "rules_fingerprint": ruleset.fingerprint,
        "rules": {rid: {"fires": s.fires, "correct": s.correct, "precision": round(s.precision, 4),
                        "weight": round(weight_from_counts(s.fires, s.correct), 4)}
                  for rid, s in sorted(stats.items())},
    }
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
