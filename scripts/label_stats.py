"""Figures of the project's appeal_to_history / us_vs_them data (data card):
sentence and positive counts, and Cohen's kappa between the first labels and
the independent second labels: labels/double_second.tsv for the PTC sample of
rounds 1-2, labels/double_round3.tsv for round 3 (ptc_sample_3*.tsv), and
labels/double_written*.tsv (by sentence id) for written sentences. The PTC
figures are given per file and pooled.

    PYTHONPATH=. python scripts/label_stats.py data/history_us_them
"""
import json
import sys
from pathlib import Path

from rhetoric.devices import DEVICE_IDS
from rhetoric.train import PROJECT_DEVICES, read_project_labels, written_documents


def cohen_kappa(pairs: list[tuple[int, int]]) -> float:
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    pa, pb = sum(a for a, _ in pairs) / n, sum(b for _, b in pairs) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return (observed - expected) / (1 - expected)


def read_keyed(path: Path) -> dict[tuple[str, int, int], tuple[int, int]]:
    """Labels keyed by `article:start:end`, as labels/batch*.tsv."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip():
            key, history, us_them = line.split("\t")
            article, start, end = key.split(":")
            out[(article, int(start), int(end))] = (int(history), int(us_them))
    return out


def agreement(first: dict, second: dict, j: int) -> dict[str, float]:
    pairs = [(first[k][j], second[k][j]) for k in second]
    return {"kappa": round(cohen_kappa(pairs), 3), "agreement": round(sum(a == b for a, b in pairs) / len(pairs), 3),
            "positives_first": sum(a for a, _ in pairs), "positives_second": sum(b for _, b in pairs)}


def main(folder: str) -> None:
    root = Path(folder)
    first = read_project_labels(root)
    seconds = {path.stem: read_keyed(path) for path in sorted((root / "labels").glob("double_*.tsv"))
               if not path.stem.startswith("double_written")}
    second = {k: v for labels in seconds.values() for k, v in labels.items()}
    written = written_documents(root)
    written_first = {}
    for path in sorted(root.glob("written*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                written_first[rec["id"]] = tuple(int(rec[d]) for d in PROJECT_DEVICES)
    written_second = {}
    for path in sorted((root / "labels").glob("double_written*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            sid, history, us_them = line.split("\t")
            written_second[sid] = (int(history), int(us_them))
    stats = {"ptc_sentences": len(first), "written_sentences": sum(len(d.sentences) for d in written),
             "written_documents": len(written), "double_labelled": len(second),
             "double_labelled_by_file": {name: len(v) for name, v in seconds.items()},
             "double_labelled_written": len(written_second), "devices": {}}
    for j, device in enumerate(PROJECT_DEVICES):
        col = [d.labels[:, DEVICE_IDS.index(device)] for d in written]
        stats["devices"][device] = {
            "ptc_positives": sum(v[j] for v in first.values()),
            "written_positives": int(sum(c.sum() for c in col)),
            **agreement(first, second, j),
            "by_file": {name: agreement(first, labels, j) for name, labels in seconds.items()},
        }
        if written_second:
            pairs = [(written_first[k][j], written_second[k][j]) for k in written_second]
            stats["devices"][device]["written_kappa"] = round(cohen_kappa(pairs), 3)
            stats["devices"][device]["written_agreement"] = round(sum(a == b for a, b in pairs) / len(pairs), 3)
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
