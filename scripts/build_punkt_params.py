"""Build rhetoric/data/punkt_en.json, the Punkt parameters of the sentence
splitter (rhetoric/text.py).

    PYTHONPATH=. python scripts/build_punkt_params.py --ptc ../shared/data/ptc

Punkt is trained (unsupervised) on the PTC training articles, DIR/train/*.txt,
with the same word tokenization the splitter uses; then the trained
abbreviations lose a hand-checked list of false ones, the trained sentence
starters lose proper names, and a curated list of common English
abbreviations is added. Only word types and their flags are written, never a
sentence of the corpus. The output is deterministic: the same corpus and NLTK
version give the same bytes (sorted lists, a fixed key order, no dates).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from rhetoric.text import PUNKT_PARAMS_FILE, PUNKT_PARAMS_FORMAT, make_punkt_trainer  # noqa: E402

DEFAULT_OUTPUT = REPO_ROOT / "rhetoric" / "data" / PUNKT_PARAMS_FILE

# Common English abbreviations, lower case and without the final period, as
# Punkt stores them. Left out on purpose: abbreviations that are also common
# words at the end of a sentence ("ill", "mass", "miss", "wash", "ore", "ark",
# "la", "pa", "sat", "sun", "wed", "art", "max"), where a false abbreviation
# would swallow a real boundary. "No." is a collocation before a number
# instead (see CURATED_COLLOCATIONS), so "I said no. Then..." still splits.
CURATED_ABBREVIATIONS = {
    "titles": """mr mrs ms messrs mmes dr prof rev hon fr msgr sr jr esq st gen lt col maj capt
        cmdr adm sgt cpl pvt gov sen rep pres supt insp atty amb""".split(),
    "months_and_days": """jan feb mar apr jun jul aug sep sept oct nov dec
        mon tue tues thu thur thurs fri""".split(),
    "places": """u.s u.s.a u.k u.n e.u d.c n.y n.j n.h n.m n.c n.d s.c s.d r.i mt ft ave blvd rd hwy
        ala ariz calif colo conn fla ga kan kans ky md mich minn neb nev okla tenn tex vt va wis
        wyo""".split(),
    "organisations": "inc corp co ltd llc bros assn dept univ govt intl".split(),
    "latin_and_references": """e.g i.e etc vs v cf al viz ca approx esp incl ibid nos vol vols ed
        eds pp ch fig figs est p.s""".split(),
    "degrees_and_times": "ph.d m.d b.a m.a b.s m.s j.d ll.b d.d.s a.m p.m".split(),
    "units": "oz lb lbs sq yr yrs hr hrs mins".split(),
}

# (word before the period, word after) pairs that never straddle a boundary;
# Punkt writes every number as "##number##": "No. 1", "Nos. 3 and 4".
CURATED_COLLOCATIONS = [["no", "##number##"], ["nos", "##number##"]]

# Types that Punkt, trained on PTC train, scored as abbreviations but that are
# ordinary words or acronyms ending sentences in that corpus (read by hand in
# the trainer's output, NLTK 3.10.4). Kept as abbreviations they would hide
# real boundaries ("...they bought a kit. John...", "...in the 90s. Trump...").
NOT_ABBREVIATIONS = "90s anytime apo ay dmz erc fyi gal ker kit mha nag num par pig pin se tit wnd".split()

# Punkt's bit for "seen in lower case" (nltk.tokenize.punkt._ORTHO_LC: the
# BEG_LC, MID_LC and UNK_LC flags, 1<<4 + 1<<5 + 1<<6).
ORTHO_SEEN_LOWER_CASE = (1 << 4) | (1 << 5) | (1 << 6)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    train_files = sorted((args.ptc / "train").glob("*.txt"))
    if not train_files:
        sys.exit(f"no PTC training articles in {args.ptc / 'train'}")
    params = train(train_files)
    document = build_document(params, train_files)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(document), encoding="utf-8")
    print(f"wrote {args.output}: {summary(document)}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ptc", type=Path, required=True, help="PTC folder with train/*.txt")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def train(train_files: list[Path]) -> Any:
    """Punkt parameters learnt from the articles, one `train` call each."""
    trainer = make_punkt_trainer()
    for path in train_files:
        trainer.train(path.read_text(encoding="utf-8"), finalize=False)
    trainer.finalize_training()
    return trainer.get_params()


def build_document(params: Any, train_files: list[Path]) -> dict[str, Any]:
    curated = sorted({abbr for group in CURATED_ABBREVIATIONS.values() for abbr in group})
    trained = sorted(set(params.abbrev_types) - set(NOT_ABBREVIATIONS) - set(curated))
    starters = sorted(word for word in params.sent_starters if _seen_in_lower_case(params, word))
    collocations = sorted(
        {tuple(pair) for pair in params.collocations} | {tuple(pair) for pair in CURATED_COLLOCATIONS}
    )
    ortho = {word: flags for word, flags in sorted(params.ortho_context.items()) if flags}
    return {
        "format": PUNKT_PARAMS_FORMAT,
        "provenance": provenance(train_files, params, starters),
        "abbreviations": {"curated": curated, "trained": trained},
        "collocations": [list(pair) for pair in collocations],
        "sentence_starters": starters,
        "orthographic_context": ortho,
    }


def _seen_in_lower_case(params: Any, word: str) -> bool:
    """Proper names ("ford", "haig") are frequent sentence starters in a small
    corpus, but after "Gen." they start no sentence: keep common words only."""
    return bool(params.ortho_context.get(word, 0) & ORTHO_SEEN_LOWER_CASE)


def provenance(train_files: list[Path], params: Any, starters: list[str]) -> dict[str, Any]:
    corpus_hash = hashlib.sha256()
    for path in train_files:
        corpus_hash.update(path.read_bytes())
    return {
        "made_by": "PYTHONPATH=. python scripts/build_punkt_params.py --ptc <PTC folder>",
        "method": (
            "nltk PunktTrainer (default settings) over the PTC train articles with "
            "rhetoric.text's word tokenization; trained abbreviations minus "
            "NOT_ABBREVIATIONS; sentence starters kept only if also seen in lower case; "
            "plus CURATED_ABBREVIATIONS and CURATED_COLLOCATIONS from the script"
        ),
        "training_corpus": "PTC (SemEval-2020 Task 11) train/*.txt; only word types are kept",
        "training_files": len(train_files),
        "training_corpus_sha256": corpus_hash.hexdigest(),
        "nltk_version": importlib.metadata.version("nltk"),
        "layout": (
            "abbreviations: Punkt abbreviation types (lower case, no final period); "
            "collocations: [word before the period, word after] pairs, numbers as ##number##; "
            "sentence_starters: lower-case types; orthographic_context: type -> Punkt's "
            "bit flags (nltk.tokenize.punkt._ORTHO_BEG_UC ... _ORTHO_UNK_LC)"
        ),
        "trained_abbreviations_rejected": sorted(set(params.abbrev_types) & set(NOT_ABBREVIATIONS)),
        "trained_sentence_starters_dropped_as_names": sorted(set(params.sent_starters) - set(starters)),
    }


def summary(document: dict[str, Any]) -> str:
    abbreviations = document["abbreviations"]
    return (
        f"{len(abbreviations['curated'])} curated + {len(abbreviations['trained'])} trained "
        f"abbreviations, {len(document['collocations'])} collocations, "
        f"{len(document['sentence_starters'])} sentence starters, "
        f"{len(document['orthographic_context'])} orthographic types"
    )


def render(document: dict[str, Any]) -> str:
    """Stable JSON, provenance first: every list and mapping is built sorted
    (or in a fixed order), one entry per line for readable diffs."""
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    sys.exit(main())
