"""Throughput, memory and cold start of batch tagging, side by side in one run.

    PYTHONPATH=. python benchmarks/throughput.py [--model DIR] [--ptc ../shared/data/ptc]
                                                 [--work /tmp/rhetoric-bench] [--mb 50] [--big-gb 1]

Builds a JSONL corpus of at least `--mb` MB by repeating the PTC articles
(written under `--work`, outside the repository: corpus text is never
committed), then measures, each in a fresh subprocess so figures do not mix:

- read-and-split: read the JSONL and sentence-split every text (the bare pass);
- `tag_many` in one process, and with `n_jobs=2`;
- the CLI, `rhetoric tag big.jsonl -o out.jsonl` (and with `--jobs 2`);
- with `--big-gb`, peak memory of the CLI streaming a corpus that large;
- `rhetoric tag` on one sentence from a cold start (median of `--cold-runs`).

Sentences per second count the sentences the splitter finds; peak memory is
the peak RSS of each measuring process (and of its worker processes) from
getrusage. The machine may be shared: compare figures of one run, not runs.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PTC = REPO.parent / "shared" / "data" / "ptc"
# Targets of issue 5 (printed beside the figures, not asserted anywhere).
TARGET_SENTENCES_PER_SECOND = 10_000
TARGET_SHARE_OF_SPLIT = 0.40
TARGET_STREAM_PEAK_MB = 400
TARGET_COLD_START_S = 1.0
ONE_SENTENCE = "They want to erase our glorious history.\n"


# -- corpus ------------------------------------------------------------------------

def build_corpus(ptc: Path, path: Path, megabytes: float) -> Path:
    """A JSONL file of at least `megabytes` MB: the PTC articles (train and dev,
    in name order) repeated, one record per article copy. Reused when present."""
    target = int(megabytes * 1_000_000)
    if path.exists() and path.stat().st_size >= target:
        return path
    articles = sorted(ptc.rglob("article*.txt"))
    if not articles:
        raise SystemExit(f"{ptc}: no PTC article*.txt files (pass --ptc)")
    texts = [(a.stem, a.read_bytes().decode("utf-8")) for a in articles]
    path.parent.mkdir(parents=True, exist_ok=True)
    written, copy = 0, 0
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            for name, text in texts:
                line = json.dumps({"id": f"{copy}:{name}", "text": text}, ensure_ascii=False) + "\n"
                out.write(line)
                written += len(line.encode("utf-8"))
            copy += 1
    return path


def corpus_texts(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)["text"]


# -- measurements (each runs in its own subprocess) -----------------------------------------

def peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (workers, the CLI)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(count: Callable[[], int]) -> dict[str, float]:
    """Sentences counted by `count()`, and the wall and CPU seconds it took."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    sentences = count()
    return {"sentences": sentences, "seconds": time.perf_counter() - wall, "cpu_seconds": cpu_seconds() - cpu}


def measure_split(corpus: Path, model: str | None) -> dict[str, float]:
    from rhetoric.text import split_sentences

    split_sentences("Warm up. Punkt loads here.")
    return timed(lambda: sum(len(split_sentences(text)) for text in corpus_texts(corpus)))


def measure_tag_many(corpus: Path, model: str | None, n_jobs: int) -> dict[str, float]:
    from rhetoric.tagger import Tagger

    tagger = Tagger.load(model)
    tagger.tag("Warm up. Punkt loads here.")
    return timed(lambda: sum(len(r.sentences) for r in tagger.tag_many(corpus_texts(corpus), n_jobs=n_jobs)))


def measure_cli(corpus: Path, model: str | None, n_jobs: int) -> dict[str, float]:
    """The whole command, model loading included, as a user runs it."""
    out = corpus.with_suffix(".out.jsonl")
    argv = [sys.executable, "-m", "rhetoric", "tag", str(corpus), "-o", str(out), "-q", "--jobs", str(n_jobs)]
    argv += ["--model", model] if model else []
    result: dict[str, str] = {}

    def run() -> int:
        done = subprocess.run(argv, env=_env(), capture_output=True, text=True)
        summary = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        if done.returncode != 0 or "sentences" not in summary:
            raise SystemExit(f"rhetoric tag failed ({done.returncode}): {done.stderr[-2000:]}")
        result["summary"] = summary
        return int(summary.split(" sentences")[0].rsplit(", ", 1)[-1].replace(",", ""))

    figures = timed(run)
    out.unlink(missing_ok=True)
    return figures


MEASURES = {
    "split": measure_split,
    "tag_many": lambda c, m: measure_tag_many(c, m, 1),
    "tag_many_2": lambda c, m: measure_tag_many(c, m, 2),
    "cli": lambda c, m: measure_cli(c, m, 1),
    "cli_2": lambda c, m: measure_cli(c, m, 2),
}


def run_measure(kind: str, corpus: Path, model: str | None) -> dict[str, float]:
    """Run one measurement in a fresh Python process; its figures and peaks."""
    argv = [sys.executable, __file__, "--measure", kind, "--corpus", str(corpus)]
    argv += ["--model", model] if model else []
    done = subprocess.run(argv, env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"measure {kind} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure_here(kind: str, corpus: Path, model: str | None) -> None:
    figures = MEASURES[kind](corpus, model)
    figures["peak_mb"] = peak_rss_mb(resource.RUSAGE_SELF)
    figures["children_peak_mb"] = peak_rss_mb(resource.RUSAGE_CHILDREN)  # workers, or the CLI process
    print(json.dumps(figures))


def cold_start(model: str | None, runs: int) -> list[float]:
    """Wall seconds of `rhetoric tag -` on one sentence, from a fresh process each time."""
    argv = [sys.executable, "-m", "rhetoric", "tag", "-", "-q"] + (["--model", model] if model else [])
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, input=ONE_SENTENCE, env=_env(), capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


# -- report -----------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--ptc", type=Path, default=DEFAULT_PTC, help="PTC folder (default: ../shared/data/ptc)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rhetoric-bench"),
                        help="where corpora are written, outside the repository (default: /tmp/rhetoric-bench)")
    parser.add_argument("--mb", type=float, default=50, help="size of the throughput corpus in MB (default: 50)")
    parser.add_argument("--big-gb", type=float, default=0,
                        help="also build a corpus this many GB and measure the CLI's peak memory streaming it")
    parser.add_argument("--cold-runs", type=int, default=5, help="cold starts to take the median of (default: 5)")
    parser.add_argument("--only", nargs="*", choices=[*MEASURES, "cold"], help="run only these measurements")
    parser.add_argument("--measure", choices=list(MEASURES), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure_here(args.measure, args.corpus, args.model)
        return
    report(args)


def report(args: argparse.Namespace) -> None:
    model = str(Path(args.model).resolve()) if args.model else None
    _say_which_model(model)
    corpus = build_corpus(args.ptc, args.work / f"corpus_{args.mb:g}mb.jsonl", args.mb)
    print(f"corpus: {corpus} ({corpus.stat().st_size / 1e6:.1f} MB); machine: {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    wanted = args.only or [*MEASURES, "cold"]
    figures = {kind: run_measure(kind, corpus, model) for kind in MEASURES if kind in wanted}
    split_rate = figures["split"]["sentences"] / figures["split"]["seconds"] if "split" in figures else None
    split_cpu_rate = figures["split"]["sentences"] / figures["split"]["cpu_seconds"] if "split" in figures else None
    print(f"\n{'measurement':<36}{'sentences/s':>12}{'of split':>9}{'per CPU-s':>11}{'of split':>9}"
          f"{'peak RSS MB':>26}   target (on wall sentences/s)")
    for kind, fig in figures.items():
        rate, cpu_rate = fig["sentences"] / fig["seconds"], fig["sentences"] / fig["cpu_seconds"]
        share = f"{rate / split_rate:.0%}" if split_rate else "-"
        cpu_share = f"{cpu_rate / split_cpu_rate:.0%}" if split_cpu_rate else "-"
        memory, target = _memory(kind, fig), _target(kind, rate, split_rate)
        print(f"{LABELS[kind]:<36}{rate:>12,.0f}{share:>9}{cpu_rate:>11,.0f}{cpu_share:>9}{memory:>26}   {target}")
    if "cold" in wanted:
        times = cold_start(model, args.cold_runs)
        median = statistics.median(times)
        print(f"\ncold start, `rhetoric tag -` on one sentence: median {median:.2f} s of {len(times)} runs "
              f"({', '.join(f'{t:.2f}' for t in times)}); target <= {TARGET_COLD_START_S} s: "
              f"{verdict(median <= TARGET_COLD_START_S)}")
    if args.big_gb:
        big = build_corpus(args.ptc, args.work / f"corpus_{args.big_gb:g}gb.jsonl", args.big_gb * 1000)
        fig = run_measure("cli", big, model)
        peak = fig["children_peak_mb"]
        print(f"\nstreaming {big.stat().st_size / 1e9:.2f} GB through `rhetoric tag` (one process): peak RSS "
              f"{peak:.0f} MB, {fig['sentences'] / fig['seconds']:,.0f} sentences/s; target <= "
              f"{TARGET_STREAM_PEAK_MB} MB: {verdict(peak <= TARGET_STREAM_PEAK_MB)}")


LABELS = {"split": "read + sentence-split (bare pass)", "tag_many": "tag_many, one process",
          "tag_many_2": "tag_many, n_jobs=2", "cli": "rhetoric tag -o out.jsonl",
          "cli_2": "rhetoric tag --jobs 2 -o out.jsonl"}


def _memory(kind: str, fig: dict[str, float]) -> str:
    if kind == "tag_many_2":
        return f"{fig['peak_mb']:.0f} + 2 x {fig['children_peak_mb']:.0f} (workers)"
    if kind == "cli_2":
        return f"{fig['children_peak_mb']:.0f} (largest process)"
    return f"{fig['children_peak_mb'] if kind == 'cli' else fig['peak_mb']:.0f}"


def _target(kind: str, rate: float, split_rate: float | None) -> str:
    if kind != "tag_many":
        return ""
    out = f">= {TARGET_SENTENCES_PER_SECOND:,}/s: {verdict(rate >= TARGET_SENTENCES_PER_SECOND)}"
    if split_rate:
        out += f"; >= {TARGET_SHARE_OF_SPLIT:.0%} of split: {verdict(rate >= TARGET_SHARE_OF_SPLIT * split_rate)}"
    return out


def _say_which_model(model: str | None) -> None:
    from rhetoric.model import MANIFEST_FILE, default_model_dir

    folder = Path(model) if model else default_model_dir()
    if not (folder / MANIFEST_FILE).is_file():
        print(f"warning: no model in {folder}: the figures are for the rules alone (pass --model DIR)")
    else:
        print(f"model: {folder}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
