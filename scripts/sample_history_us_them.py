"""Draw the PTC-train sentences that the project labels for appeal_to_history
and us_vs_them (issue 3), as standoff: article id, start, end, stratum.

Sampling only chooses which sentences a person reads; it never labels.
Likely positives are oversampled with broad keyword screens so each device
gets enough positives; a random stratum keeps the base rate honest.

    python scripts/sample_history_us_them.py ../shared/data/ptc/train \
        data/history_us_them/ptc_sample.tsv
"""
import random
import re
import sys
from pathlib import Path

# Broad screens, deliberately loose: recall matters here, not precision.
HISTORY_SCREEN = re.compile(
    r"\b(histor\w*|centur\w*|ancest\w*|forefather\w*|founding fathers|heritage|tradition\w*|"
    r"legacy|civili[sz]ation|empire|colonial\w*|1[5-9]\d\d|20[01]\d|decades|generations|"
    r"nazi\w*|hitler|munich|holocaust|civil war|world war|revolution\w*|slavery|"
    r"crusade\w*|ottoman|soviet|stalin|mao|lincoln|washington|jefferson|reagan|"
    r"cold war|again|once more|repeat\w*|never forget|remember)\b",
    re.IGNORECASE,
)
US_THEM_SCREEN = re.compile(
    r"\b(we|us|our|ours|they|them|their|enemy|enemies|elites?|establishment|globalist\w*|"
    r"liberals?|leftists?|left|conservatives?|right-wing|democrats?|republicans?|"
    r"muslims?|islam\w*|immigrants?|migrants?|foreigners?|patriots?|traitors?|"
    r"americans?|west\w*|russians?|chinese|mainstream media|deep state|the people)\b",
    re.IGNORECASE,
)
# Round 2, drawn after round 1 showed ~10% history positives under the broad
# screen: the terms whose round-1 sentences were most often positive
# (tradition, centuries, nazi, revolution, history, ...); years and
# "Washington" mostly date news and were dropped.
HISTORY_SCREEN_2 = re.compile(
    r"\b(histor(y|ic|ical)|centur(y|ies)|ancest\w*|forefather\w*|founding fathers|heritage|"
    r"tradition|legacy|civili[sz]ation\w*|empire|nazi\w*|hitler|revolution\w*|soviet|"
    r"cold war|generations|19[0-4]\d|slavery|crusade\w*|remember|never again|our fathers)\b",
    re.IGNORECASE,
)
US_THEM_SCREEN_2 = re.compile(
    r"\b(we|us|our)\b.*\b(they|them|their|enemy|enemies|elites?|globalist\w*|invaders?|traitors?)\b"
    r"|\b(they|them|their|enemy|enemies|elites?|globalist\w*|invaders?|traitors?)\b.*\b(we|us|our)\b",
    re.IGNORECASE,
)
N_HISTORY_2 = 700        # at the ~25-30% positive rate of the sharper screen: +~190 positives
N_US_THEM_2 = 300
SEED = 20261122          # fixed so the sample can be redrawn identically
N_HISTORY = 900          # sized so ~1/3 positive rate still gives >= 300 positives
N_US_THEM = 900
N_RANDOM = 600           # unscreened sentences: hard negatives and base rate
MIN_CHARS = 25           # headlines/bylines shorter than this carry no argument


def sentences(ptc_dir: Path):
    for path in sorted(ptc_dir.glob("article*.txt")):
        article = path.stem.replace("article", "")
        text = path.read_text(encoding="utf-8")
        pos = 0
        for line in text.split("\n"):
            if len(line.strip()) >= MIN_CHARS:
                yield article, pos, pos + len(line), line
            pos += len(line) + 1


def second_round(pool, taken):
    """Round 2: unsampled sentences under the sharper screens (see above)."""
    hist, uvt = [], []
    for s in pool:
        if s[:3] in taken:
            continue
        if HISTORY_SCREEN_2.search(s[3]) and len(hist) < N_HISTORY_2:
            hist.append((*s[:3], "history_screen_2"))
        elif US_THEM_SCREEN_2.search(s[3]) and len(uvt) < N_US_THEM_2:
            uvt.append((*s[:3], "us_them_screen_2"))
    return hist + uvt


def main(ptc_dir: str, out: str) -> None:
    rng = random.Random(SEED)
    pool = list(sentences(Path(ptc_dir)))
    rng.shuffle(pool)
    hist, uvt, rest = [], [], []
    for s in pool:
        h = len(HISTORY_SCREEN.findall(s[3]))
        u = len(set(m.lower() for m in US_THEM_SCREEN.findall(s[3])))
        if h and len(hist) < N_HISTORY:
            hist.append((*s[:3], "history_screen"))
        elif u >= 2 and len(uvt) < N_US_THEM:
            uvt.append((*s[:3], "us_them_screen"))
        else:
            rest.append((*s[:3], "random"))
    chosen = hist + uvt + rest[:N_RANDOM]
    chosen += second_round(pool, {c[:3] for c in chosen})
    chosen.sort(key=lambda r: (r[0], r[1]))
    with open(out, "w", encoding="utf-8") as f:
        f.write("article_id\tstart\tend\tstratum\n")
        for a, s, e, st in chosen:
            f.write(f"{a}\t{s}\t{e}\t{st}\n")
    print(f"{len(chosen)} sentences from {len({c[0] for c in chosen})} articles -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
