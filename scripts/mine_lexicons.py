"""Mine lexicon terms from PTC train span text, and audit the terms of the
hand-written lexicons.

    # candidates for a device, printed (nothing written)
    PYTHONPATH=. python scripts/mine_lexicons.py --ptc ../shared/data/ptc/train \\
        --device loaded_language
    # write them as the rule "<device>.mined" of rhetoric/lexicons/<device>.json
    PYTHONPATH=. python scripts/mine_lexicons.py --ptc ... --device loaded_language --write
    # per-term sentence precision of every lexicon rule, worst first
    PYTHONPATH=. python scripts/mine_lexicons.py --ptc ... --audit
    # ... and remove hand-written terms that fire (>= 4 times) below their
    # device's base rate
    PYTHONPATH=. python scripts/mine_lexicons.py --ptc ... --prune

Only single terms (one or two words) are kept, never sentences: a term is a
candidate when its occurrences fall inside spans of the device often enough
(IN_SPAN_SHARE), in enough distinct articles (MIN_ARTICLES) so that one
article's topic words do not become a lexicon, and often enough overall
(MIN_IN_SPAN). The held-out articles (data/splits/ptc_holdout.txt) are never
read. Words of the other rules of the device are left out (already covered).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rhetoric.corpus import Document, read_ptc, sentence_labels
from rhetoric.rules import RuleSet, Token, term_words, tokenize

# Occurrences inside the device's spans needed before a term is considered:
# 3 keeps one-off words out while leaving the rare devices some candidates.
MIN_IN_SPAN = 3
# Distinct articles with an in-span occurrence: 3, so one or two articles'
# topic (a name or a story repeated throughout them) cannot make the list.
MIN_ARTICLES = 3
# Share of all occurrences that fall inside the device's spans. 0.5: the term
# is labelled as (part of) the device at least as often as not.
IN_SPAN_SHARE = 0.5
# Words too common to be a term on their own, whatever their share.
FUNCTION_WORDS = frozenset("""a an the and or but if of to in on at by for with from as is are was were be been
being it its this that these those he she they we you i me him her them us our your their his my not no
so do does did has have had will would can could should may might must than then there here who whom which
what when where why how all any some such very just also only about into over out up down more most""".split())
DEFAULT_HOLDOUT = Path("data/splits/ptc_holdout.txt")
LEXICONS = Path(__file__).resolve().parent.parent / "rhetoric" / "lexicons"


@dataclass
class TermCounts:
    total: int = 0
    in_span: int = 0
    articles: set[str] | None = None

    def add(self, inside: bool, article: str) -> None:
        self.total += 1
        if inside:
            self.in_span += 1
            if self.articles is None:
                self.articles = set()
            self.articles.add(article)

    @property
    def share(self) -> float:
        return self.in_span / self.total if self.total else 0.0

    @property
    def n_articles(self) -> int:
        return len(self.articles or ())


def read_docs(ptc_dir: Path, holdout: Path) -> list[Document]:
    exclude = set()
    if holdout.exists():
        exclude = {x.strip() for x in holdout.read_text(encoding="utf-8").splitlines() if x.strip()}
    folders = sorted({p.parent for p in ptc_dir.rglob("article*.txt")})
    return [doc for folder in folders for doc in read_ptc(folder) if doc.id not in exclude]


def inside_mask(doc: Document, device: str, tokens: Sequence[Token]) -> list[bool]:
    """For each token, whether it lies within a span of `device`."""
    spans = [(s.start, s.end) for s in doc.spans if s.device == device]
    return [any(start >= a and end <= b for a, b in spans) for start, end, _ in tokens]


def grams(tokens: Sequence[Token], inside: Sequence[bool]) -> Iterable[tuple[str, bool]]:
    """Unigrams and bigrams of content words (letters only, not function
    words, longer than two letters) with whether they lie inside a span."""
    words = [w for _, _, w in tokens]
    content = [w.replace("-", "").isalpha() and w not in FUNCTION_WORDS and len(w) > 2 for w in words]
    for i, word in enumerate(words):
        if content[i]:
            yield word, inside[i]
            if i + 1 < len(words) and content[i + 1]:
                yield f"{word} {words[i + 1]}", inside[i] and inside[i + 1]


def count_terms(docs: Sequence[Document], device: str) -> dict[str, TermCounts]:
    counts: dict[str, TermCounts] = defaultdict(TermCounts)
    for doc in docs:
        tokens = tokenize(doc.text)
        for term, inside in grams(tokens, inside_mask(doc, device, tokens)):
            counts[term].add(inside, doc.id)
    return counts


def covered_terms(ruleset: RuleSet, device: str) -> tuple[set[str], tuple[str, ...]]:
    """Terms and prefixes the device's other (non-mined) rules already have."""
    covered: set[str] = set()
    prefixes: list[str] = []
    for defn in ruleset.definitions:
        if defn.device == device and not defn.id.endswith(".mined"):
            covered.update(" ".join(term_words(t)) for t in defn.terms if not t.endswith("*"))
            prefixes.extend(term_words(t[:-1])[0] for t in defn.terms if t.endswith("*"))
    return covered, tuple(prefixes)


def candidates(counts: dict[str, TermCounts], covered: set[str],
               prefixes: tuple[str, ...]) -> list[tuple[str, TermCounts]]:
    chosen = [(term, c) for term, c in counts.items()
              if c.in_span >= MIN_IN_SPAN and c.n_articles >= MIN_ARTICLES and c.share >= IN_SPAN_SHARE
              and term not in covered and not term.startswith(prefixes)]
    # a bigram adds nothing when one of its words is already chosen or covered
    singles = {t for t, _ in chosen if " " not in t} | covered
    chosen = [(t, c) for t, c in chosen if " " not in t or not set(t.split()) & singles]
    return sorted(chosen, key=lambda tc: (-tc[1].share, -tc[1].in_span, tc[0]))


def write_mined(device: str, terms: list[str]) -> Path:
    """Replace (or add) the rule '<device>.mined' in the device's rule file."""
    path = LEXICONS / f"{device}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    rules = [r for r in data["rules"] if r["id"] != f"{device}.mined"]
    old = next((r for r in data["rules"] if r["id"] == f"{device}.mined"), None)
    examples = old["examples"] if old else {"match": [], "no_match": []}
    rules.append({
        "id": f"{device}.mined",
        "kind": "lexicon",
        "description": (f"Terms mined from PTC train span text of {device} by scripts/mine_lexicons.py "
                        f"(>= {MIN_IN_SPAN} in-span occurrences in >= {MIN_ARTICLES} articles, "
                        f">= {IN_SPAN_SHARE:.0%} of occurrences inside spans)."),
        "terms": sorted(terms),
        "examples": examples,
    })
    data["rules"] = rules
    data["provenance"]["mined"] = ("The rule '<device>.mined' holds single words and word pairs mined from "
                                   "the PTC train articles (held-out articles excluded) by "
                                   "scripts/mine_lexicons.py; no corpus sentences are shipped.")
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def audit(ruleset: RuleSet, docs: Sequence[Document], min_fires: int) -> list[tuple[str, str]]:
    """Sentence-level precision of each lexicon term, for pruning: terms that
    fire often below their device's base rate are printed first. Returns the
    (rule id, matched text) pairs below the base rate."""
    from rhetoric.text import split_sentences

    fires: Counter[tuple[str, str]] = Counter()
    correct: Counter[tuple[str, str]] = Counter()
    carrying: Counter[str] = Counter()
    sentences_total = 0
    for doc in docs:
        sentences = split_sentences(doc.text)
        labels = sentence_labels(doc.spans, sentences)
        sentences_total += len(sentences)
        for gold in labels:
            carrying.update(gold)
        for hits, gold in zip(ruleset.match(doc.text, sentences), labels, strict=True):
            for key, device in {((h.rule_id, doc.text[h.start:h.end].lower()), h.device) for h in hits}:
                fires[key] += 1
                correct[key] += device in gold
    rows = []
    for (rule_id, term), n in fires.items():
        device = ruleset.rule(rule_id).device
        if n >= min_fires and ruleset.rule(rule_id).kind == "lexicon" and device in carrying:
            base = carrying[device] / sentences_total
            rows.append((correct[(rule_id, term)] / n / base, n, correct[(rule_id, term)], rule_id, term))
    print(f"{'lift':>5} {'fires':>5} {'corr':>4}  rule / term")
    for lift, n, c, rule_id, term in sorted(rows):
        print(f"{lift:5.1f} {n:5d} {c:4d}  {rule_id} / {term!r}")
    return [(rule_id, term) for lift, _, _, rule_id, term in rows if lift < 1.0]


def prune(below_base: Iterable[tuple[str, str]]) -> None:
    """Remove from the hand-written lexicon rules the exact terms whose
    matches fell below the base rate (mined rules are regenerated instead;
    prefix terms are only reported)."""
    doomed: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for rule_id, text in below_base:
        if not rule_id.endswith(".mined"):
            doomed[rule_id].add(term_words(text))
    for path in sorted(LEXICONS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for rule in data.get("rules", []) if isinstance(data, dict) else []:
            for words in doomed.get(rule["id"], set()):
                keep = [t for t in rule.get("terms", []) if t.endswith("*") or term_words(t) != words]
                if len(keep) < len(rule["terms"]):
                    removed = sorted(set(rule["terms"]) - set(keep))
                    print(f"pruned from {rule['id']}: {removed}")
                    rule["terms"], changed = keep, True
                else:
                    print(f"kept {rule['id']} / {' '.join(words)!r}: matched by a prefix term")
        if changed:
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ptc", type=Path, required=True)
    parser.add_argument("--device", help="device to mine terms for")
    parser.add_argument("--write", action="store_true", help="write the '<device>.mined' rule")
    parser.add_argument("--audit", action="store_true", help="per-term precision of the lexicon rules")
    parser.add_argument("--prune", action="store_true",
                        help="audit, then remove hand-written terms below their device's base rate")
    # 4 firings: with fewer, a term's precision is too noisy to judge.
    parser.add_argument("--min-fires", type=int, default=4, help="audit: terms firing at least this often")
    parser.add_argument("--holdout", type=Path, default=DEFAULT_HOLDOUT)
    args = parser.parse_args(argv)

    docs = read_docs(args.ptc, args.holdout)
    ruleset = RuleSet.load(LEXICONS)
    if args.audit or args.prune:
        below_base = audit(ruleset, docs, args.min_fires)
        if args.prune:
            prune(below_base)
        return 0
    if not args.device:
        parser.error("--device or --audit is required")
    found = candidates(count_terms(docs, args.device), *covered_terms(ruleset, args.device))
    print(f"{'share':>5} {'in':>4} {'all':>5} {'arts':>4}  term")
    for term, c in found:
        print(f"{c.share:5.2f} {c.in_span:4d} {c.total:5d} {c.n_articles:4d}  {term}")
    if args.write:
        print(f"wrote {write_mined(args.device, [t for t, _ in found])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
