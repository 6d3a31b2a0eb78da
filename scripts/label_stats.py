"""Figures of the project's appeal_to_history / us_vs_them data (data card):
sentence counts, Cohen's kappa and F1 between the first labels and the blind second
pass (rhetoric.train.SECOND_PASS_FILES), for the screened PTC sample of
rounds 1-3, the whole-article lines of rounds 4 and 5 (ptc_sample_4.tsv:
training articles; ptc_sample_5.tsv: held-out ones), the written
sentences (the short documents of written.jsonl to written_3.jsonl, the
long ones of written_4.jsonl on, and both), and pooled; how many disagreements the third pass read
and whom it sided with; and the positives of the final (majority) labels.

    PYTHONPATH=. python scripts/label_stats.py data/history_us_them
"""
import json
import sys
from pathlib import Path

from rhetoric.train import (
    PROJECT_DEVICES,
    SECOND_PASS_FILES,
    SHORT_WRITTEN_BATCH,
    first_labels,
    label_passes,
    read_label_file,
    written_batches,
    written_documents,
)


def cohen_kappa(pairs: list[tuple[int, int]]) -> float:
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    pa, pb = sum(a for a, _ in pairs) / n, sum(b for _, b in pairs) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return (observed - expected) / (1 - expected)


def agreement(pairs: list[tuple[int, int]]) -> dict[str, float]:
    if not pairs:
        return {"sentences": 0}
    return {"sentences": len(pairs), "kappa": round(cohen_kappa(pairs), 3),
            "agreement": round(sum(a == b for a, b in pairs) / len(pairs), 3),
            # F1 of one annotator scored against the other (symmetric): the
            # figure a model's F1 is compared with, on the same sentences
            "f1": round(2 * sum(a and b for a, b in pairs) / max(sum(a + b for a, b in pairs), 1), 3),
            "positives_first": sum(a for a, _ in pairs), "positives_second": sum(b for _, b in pairs)}


def main(folder: str) -> None:
    root = Path(folder)
    first = first_labels(root)
    passes = label_passes(root)
    final = {k: passes.decide(k, v) for k, v in first.items()}
    by_file = {name: read_label_file(root / "labels" / name) for name in SECOND_PASS_FILES
               if (root / "labels" / name).exists()}
    written = written_documents(root)
    def sample_keys(name: str) -> set[str]:
        path = root / name
        if not path.exists():
            return set()
        return {":".join(line.split("\t")[:3]) for line in path.read_text(encoding="utf-8").splitlines()[1:]}

    round4, round5 = sample_keys("ptc_sample_4.tsv"), sample_keys("ptc_sample_5.tsv")
    # The long documents written at the natural rate (session 5), apart from the short dense ones before
    long_written = {key for key, batch in written_batches(root).items() if batch != SHORT_WRITTEN_BATCH}
    sources = {"ptc_rounds_1_3": [k for k in first if ":" in k and k not in round4 and k not in round5],
               "ptc_round_4": [k for k in first if k in round4],
               "ptc_round_5_held_out": [k for k in first if k in round5],
               "written_1_3": [k for k in first if ":" not in k and k not in long_written],
               "written_4_on_long": [k for k in first if k in long_written],
               "written": [k for k in first if ":" not in k], "all": list(first)}
    stats: dict = {"sentences": {name: len(keys) for name, keys in sources.items()},
                   "written_documents": len(written),
                   "second_pass": {name: len(v) for name, v in by_file.items()},
                   "without_second_label": sum(k not in passes.second for k in first),
                   "third_pass": len(passes.third), "devices": {}}
    for j, device in enumerate(PROJECT_DEVICES):
        disagree = [k for k in first if k in passes.second and passes.second[k][j] != first[k][j]]
        stats["devices"][device] = {
            "positives_final": {name: sum(final[k][j] for k in keys) for name, keys in sources.items()},
            "first_vs_second": {name: agreement([(first[k][j], passes.second[k][j]) for k in keys
                                                 if k in passes.second]) for name, keys in sources.items()},
            "disagreements": len(disagree),
            "third_pass_read": sum(k in passes.third for k in disagree),
            "third_sided_with_first": sum(passes.third[k][j] == first[k][j] for k in disagree if k in passes.third),
        }
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
