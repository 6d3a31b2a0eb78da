"""Rounds 4 and 5 of the project's PTC labels (issue 3): every line of the PTC
train and dev articles that no earlier round took, as standoff (article id,
start, end, stratum), written to data/history_us_them/ptc_sample_4.tsv for
the articles that are not held out (`all_lines`) and, with --held-out, to
ptc_sample_5.tsv for the 70 held-out ones (`all_lines_held_out`).

    PYTHONPATH=. python scripts/sample_all_lines.py ../shared/data/ptc \
        data/history_us_them data/history_us_them/ptc_sample_4.tsv
    PYTHONPATH=. python scripts/sample_all_lines.py ../shared/data/ptc \
        data/history_us_them data/history_us_them/ptc_sample_5.tsv --held-out

Why: rounds 1-3 drew sentences through screens (history words, group words,
topic names, PTC spans), so the labelled PTC rows were a screened fraction of
each article and every unlabelled line was unknown to the project devices.
Labelling whole articles gives those devices the natural rate of positives
and the hard negatives of ordinary news text (nations, parties and faiths
named with no contest), which is where they made most of their false
positives. Each line was read by two annotators independently and by a third
where they disagreed (labels/batch7.tsv, pass2.tsv, pass3.tsv); choosing the
lines involves no screen and no label. Round 5 does the same for the
held-out articles, which had only the screened sample of rounds 1-2: the
held-out part is then whole articles, like the training part.
"""
import sys
from pathlib import Path

from rhetoric.train import holdout_ids, line_span, ptc_documents, read_project_labels


def main(ptc_dir: str, project_dir: str, out: str, held_out_articles: bool = False) -> None:
    held_out = holdout_ids()
    taken = set(read_project_labels(Path(project_dir), first_only=True))
    # the round's own lines are in the label files once labelled: keep them
    previous = Path(out)
    if previous.exists():
        for line in previous.read_text(encoding="utf-8").splitlines()[1:]:
            article, start, end, _ = line.split("\t")
            taken.discard((article, int(start), int(end)))
    rows = []
    for doc in ptc_documents(ptc_dir):
        if (doc.id in held_out) != held_out_articles:
            continue
        for start, end in doc.sentences:
            line_start, line_end = line_span(doc.text, start, end)
            if (doc.id, line_start, line_end) not in taken:
                rows.append((doc.id, line_start, line_end))
    rows.sort(key=lambda r: (r[0], r[1]))
    stratum = "all_lines_held_out" if held_out_articles else "all_lines"
    text = "article_id\tstart\tend\tstratum\n" + "".join(f"{a}\t{s}\t{e}\t{stratum}\n" for a, s, e in rows)
    Path(out).write_text(text, encoding="utf-8")
    print(f"{len(rows)} lines of {len({r[0] for r in rows})} articles written to {out}")


if __name__ == "__main__":
    main(*sys.argv[1:4], held_out_articles="--held-out" in sys.argv[4:])
