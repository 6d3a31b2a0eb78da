"""Round 3 of the PTC-train sample for us_vs_them (issue 3): sentences that
break the topic confound of rounds 1-2, as standoff (article id, start, end,
stratum), written to data/history_us_them/ptc_sample_3.tsv.

    PYTHONPATH=. python scripts/sample_uvt_round3.py ../shared/data/ptc/train \
        data/history_us_them data/history_us_them/ptc_sample_3.tsv data/history_us_them/ptc_sample_3b.tsv

Why: the stage-1 us_vs_them weights learnt from rounds 1-2 are topic words
(muslim, western, europe, china, moscow, jews, ...; a word TF-IDF logistic
regression on those labels puts them among its top 30 weights). Rounds 1-2
oversampled likely positives with screens full of such words, so in the
labelled data a nation or religion word goes with the label. Two strata:

- `topic`: sentences naming a nation, bloc, religion, migrant group or party
  (TOPIC below) -- mostly analytical or news text, which a person then reads;
  the hard negatives among them teach that the topic is not the device.
- `structure`: sentences with an in-group/out-group shape (we/our against
  they/them, or an elite/enemy/people word; STRUCTURE below) and no TOPIC
  word -- where the positives without topic words are.

Round 3b (the second output), drawn after round 3a gave 37 positives in
438 sentences (12 of them in the `structure` stratum): sentences that carry a
PTC gold span of a technique that often goes with a group contest
(GROUP_TECHNIQUES) -- `technique` without a TOPIC word, where positives
without topic words should be likelier, and `technique_topic` with one, hard
negatives that are propaganda but not us_vs_them.

Sampling only chooses which sentences a person reads; it never labels. Only
PTC *train* articles that are not held out (rhetoric/data/holdout.txt), and
only lines no earlier round sampled (labels/batch*.tsv).
"""
import random
import re
import sys
from pathlib import Path

from rhetoric.train import holdout_ids, read_project_labels

TOPIC = re.compile(
    r"\b(muslims?|islam\w*|jews?|jewish|christians?|catholics?|west|western|europe\w*|eu|brussels|"
    r"china|chinese|beijing|russia\w*|moscow|kremlin|putin|iran\w*|israel\w*|palestin\w*|africa\w*|"
    r"arabs?|syria\w*|turk\w*|mexic\w*|british|britain|foreign\w*|immigra\w*|migrants?|refugees?|"
    r"democrats?|republicans?|regime|washington|americans?|america)\b",
    re.IGNORECASE,
)
IN_GROUP = r"\b(we|us|our|ours|ourselves)\b"
OUT_GROUP = r"\b(they|them|their|theirs|themselves)\b"
GROUP_WORD = (r"\b(elites?|establishment|globalists?|leftists?|the left|liberals?|progressives?|"
              r"conservatives?|the media|mainstream media|deep state|swamp|patriots?|traitors?|"
              r"enemy|enemies|ordinary people|the people|our people|the masses|invaders?|"
              r"haters?|mob|radicals?|extremists?|those who|these people)\b")
STRUCTURE = re.compile(
    rf"{IN_GROUP}.*{OUT_GROUP}|{OUT_GROUP}.*{IN_GROUP}|{GROUP_WORD}", re.IGNORECASE)
SEED = 20260603          # fixed so the sample can be redrawn identically
N_TOPIC = 240            # ~2x round 1-2's random stratum's rate of topic words
N_STRUCTURE = 240
MIN_CHARS = 25           # as rounds 1-2: headlines and bylines carry no argument
MAX_CHARS = 600          # very long lines are mostly quoted lists or run-on paragraphs
GROUP_TECHNIQUES = {"Flag-Waving", "Appeal_to_fear-prejudice", "Black-and-White_Fallacy",
                    "Causal_Oversimplification", "Name_Calling,Labeling"}
N_TECHNIQUE = 160        # round 3b
N_TECHNIQUE_TOPIC = 80
PER_ARTICLE = 3          # per stratum: spread over many articles rather than a few long ones


def lines(ptc_dir: Path, skip_articles: set[str]):
    for path in sorted(ptc_dir.glob("article*.txt")):
        article = path.stem.replace("article", "")
        if article in skip_articles:
            continue
        pos = 0
        for line in path.read_text(encoding="utf-8").split("\n"):
            if MIN_CHARS <= len(line.strip()) <= MAX_CHARS:
                yield article, pos, pos + len(line), line
            pos += len(line) + 1


def technique_spans(ptc_dir: Path, article: str) -> list[tuple[int, int]]:
    path = ptc_dir / f"article{article}.labels.tsv"
    spans = []
    for row in path.read_text(encoding="utf-8").splitlines():
        parts = row.split("\t")
        if len(parts) == 4 and parts[1] in GROUP_TECHNIQUES:
            spans.append((int(parts[2]), int(parts[3])))
    return spans


def technique_round(ptc_dir: Path, pool: list[tuple[str, int, int, str]],
                    taken: set[tuple[str, int, int]]) -> list[tuple[str, int, int, str]]:
    """Round 3b: lines overlapping a GROUP_TECHNIQUES gold span, by TOPIC."""
    spans: dict[str, list[tuple[int, int]]] = {}
    chosen, per_article = [], {}
    counts, limits = {"technique": 0, "technique_topic": 0}, {"technique": N_TECHNIQUE,
                                                               "technique_topic": N_TECHNIQUE_TOPIC}
    for article, start, end, line in pool:
        if (article, start, end) in taken:
            continue
        if article not in spans:
            spans[article] = technique_spans(ptc_dir, article)
        if not any(s < end and e > start for s, e in spans[article]):
            continue
        stratum = "technique_topic" if TOPIC.search(line) else "technique"
        if counts[stratum] >= limits[stratum] or per_article.get((article, stratum), 0) >= PER_ARTICLE:
            continue
        counts[stratum] += 1
        per_article[(article, stratum)] = per_article.get((article, stratum), 0) + 1
        chosen.append((article, start, end, stratum))
    print(f"round 3b: {len(chosen)} sentences ({counts})")
    return chosen


def write(out: str, chosen: list[tuple[str, int, int, str]]) -> None:
    chosen.sort(key=lambda r: (r[0], r[1]))
    with open(out, "w", encoding="utf-8") as f:
        f.write("article_id\tstart\tend\tstratum\n")
        for a, s, e, st in chosen:
            f.write(f"{a}\t{s}\t{e}\t{st}\n")


def main(ptc_dir: str, project_dir: str, out: str, out_b: str) -> None:
    taken = set(read_project_labels(Path(project_dir)))
    pool = [s for s in lines(Path(ptc_dir), holdout_ids()) if s[:3] not in taken]
    random.Random(SEED).shuffle(pool)
    chosen: list[tuple[str, int, int, str]] = []
    per_article: dict[tuple[str, str], int] = {}
    counts = {"topic": 0, "structure": 0}
    for article, start, end, line in pool:
        if TOPIC.search(line):
            stratum, limit = "topic", N_TOPIC
        elif STRUCTURE.search(line):
            stratum, limit = "structure", N_STRUCTURE
        else:
            continue
        if counts[stratum] >= limit or per_article.get((article, stratum), 0) >= PER_ARTICLE:
            continue
        counts[stratum] += 1
        per_article[(article, stratum)] = per_article.get((article, stratum), 0) + 1
        chosen.append((article, start, end, stratum))
    write(out, chosen)
    print(f"{len(chosen)} sentences ({counts}) from {len({a for a, _ in per_article})} articles -> {out}")
    write(out_b, technique_round(Path(ptc_dir), pool, taken | {c[:3] for c in chosen}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
