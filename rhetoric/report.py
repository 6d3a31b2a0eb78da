"""One self-contained HTML report of tagged documents.

`to_html(results)` returns a single HTML page that needs no network and no
server: inline CSS, inline SVG, system fonts, no script. It holds a corpus
summary (figures, a bar chart of device frequencies, a table of documents),
a legend, and per document its device counts, a strip showing where in the
text the devices cluster, and the text with every tagged span highlighted.

Overlapping tags are drawn segment by segment: the text is cut at every tag
start and end, and each segment carries the classes of all the devices that
cover it (``d-<device>``), one stacked underline per device, a tint of its
most probable device, and a tooltip (``title``) with each device's score,
source and evidence. Every piece of input text goes through `html.escape`.
"""
from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

from rhetoric.devices import DEVICE_IDS, get_device

if TYPE_CHECKING:
    from rhetoric.tagger import Result, Tag

# The 20 colours are Kenneth L. Kelly's "Twenty-two colors of maximum contrast"
# (Color Engineering 3(6), 1965) less white and black; hex values as commonly
# cited for his ISCC-NBS centroids. Assigned by hand: the devices most frequent
# in PTC and the project's own two get the clearly separate hue families
# (yellow, purple, red, orange, pink, blue, green); repetition, frequent and
# often long, gets the light blue so it does not drown the others.
DEVICE_COLOURS: dict[str, str] = {
    "loaded_language": "#F3C300",            # yellow
    "name_calling": "#875692",               # purple
    "repetition": "#A1CAF1",                 # light blue
    "exaggeration_minimisation": "#F38400",  # orange
    "doubt": "#BE0032",                      # red
    "appeal_to_fear_prejudice": "#E68FAC",   # purplish pink
    "flag_waving": "#8DB600",                # yellow green
    "causal_oversimplification": "#654522",  # yellowish brown
    "slogans": "#604E97",                    # violet
    "appeal_to_authority": "#848482",        # grey
    "black_and_white_fallacy": "#882D17",    # reddish brown
    "thought_terminating_cliche": "#C2B280",  # buff
    "whataboutism": "#F99379",               # yellowish pink
    "reductio_ad_hitlerum": "#2B3D26",       # olive green
    "red_herring": "#DCD300",                # greenish yellow
    "bandwagon": "#F6A600",                  # orange yellow
    "obfuscation": "#B3446C",                # purplish red
    "straw_man": "#E25822",                  # reddish orange
    "appeal_to_history": "#0067A5",          # blue
    "us_vs_them": "#008856",                 # green
}
"""One colour per device, used by the HTML report and brat's visual.conf."""

# Background tint of a highlight: the device colour at alpha 0x38 (22 %),
# light enough to keep black text readable on the darkest Kelly colours.
TINT_ALPHA = "38"
# Thickness in px of one device's underline; line-height 2.1 in the CSS below
# leaves room for three stacked underlines before they reach the next line.
UNDERLINE_PX = 3
# Bar chart geometry, in SVG user units (1 unit = 1 px at the page's 960 px width):
CHART_WIDTH = 720       # fits the summary column
CHART_LABEL_WIDTH = 230  # the longest device name ("Obfuscation / intentional vagueness") at 13 px
CHART_ROW_HEIGHT = 22   # 13 px text plus spacing
CHART_BAR_HEIGHT = 14
# Position strip geometry, in SVG user units scaled to the text column:
STRIP_WIDTH = 1000      # a round number: x is the position in the text in tenths of a percent
STRIP_LABEL_WIDTH = 230  # device names at 13 units (about 11.5 px at the usual 890 px column)
STRIP_LANE_HEIGHT = 12  # one lane per device found in the document
STRIP_LANE_GAP = 5
STRIP_MIN_TICK = 2.0    # a one-word tag in a long text must still show


def to_html(results: Iterable[Result], ids: Sequence[str] | None = None, title: str = "rhetoric report",
            subtitle: str = "") -> str:
    """A self-contained HTML page showing `results` (Result objects; those
    whose `error` is set appear as failed documents). `ids` names the
    documents (default: "document 1", "document 2", ...); `subtitle` is shown
    under the title, e.g. which model tagged the texts."""
    from rhetoric import __version__

    docs = list(results)
    names = list(ids) if ids is not None else [f"document {i + 1}" for i in range(len(docs))]
    if len(names) != len(docs):
        raise ValueError(f"{len(names)} ids for {len(docs)} results")
    counts = Counter(t.device for r in docs for t in r.tags)
    subtitle_html = f'<p class="subtitle">{_esc(subtitle)}</p>' if subtitle else ""
    sections = "\n".join(_document_section(i, name, r) for i, (name, r) in enumerate(zip(names, docs, strict=True)))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{_stylesheet()}</style>
</head>
<body>
<header><div class="wrap"><h1>{_esc(title)}</h1>{subtitle_html}</div></header>
<main>
{_summary(names, docs, counts)}
{_legend(counts)}
{sections}
</main>
<footer>Made by rhetoric {_esc(__version__)}. A tag is a pointer for a human reader, not a verdict:
its score is the estimated probability that the device occurs in the sentence.</footer>
</body>
</html>
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _name(device: str) -> str:
    try:
        return get_device(device).name
    except KeyError:  # a device of a newer catalogue: show its id
        return device


def _colour(device: str) -> str:
    return DEVICE_COLOURS.get(device, "#555555")


def _sorted_devices(counts: Counter[str]) -> list[str]:
    """Most frequent first; ties in catalogue order."""
    order = {d: i for i, d in enumerate(DEVICE_IDS)}
    return sorted(counts, key=lambda d: (-counts[d], order.get(d, len(order)), d))


# -- corpus summary ---------------------------------------------------------------

def _summary(names: list[str], docs: list[Result], counts: Counter[str]) -> str:
    failed = sum(r.error is not None for r in docs)
    sentences = sum(len(r.sentences) for r in docs)
    tags = sum(counts.values())
    sources = Counter(t.source for r in docs for t in r.tags)
    figures = [("documents", len(docs)), ("sentences", sentences), ("tags", tags),
               ("devices found", len(counts)), ("failed", failed)]
    cells = "".join(f'<div class="figure{" bad" if label == "failed" and value else ""}">'
                    f"<b>{value:,}</b><span>{label}</span></div>" for label, value in figures)
    source_line = ", ".join(f"{sources[s]:,} by {s}" for s in ("rule+model", "model", "rule") if sources[s])
    chart = _bar_chart(counts, docs) if counts else '<p class="muted">No devices found.</p>'
    return f"""<section class="card" id="summary">
<h2>Corpus summary</h2>
<div class="figures">{cells}</div>
{f'<p class="muted">Tags decided {source_line}.</p>' if source_line else ''}
<h3>Device frequency <span class="muted">(tags per device, all documents)</span></h3>
{chart}
<h3>Documents</h3>
{_document_table(names, docs)}
</section>"""


def _bar_chart(counts: Counter[str], docs: list[Result]) -> str:
    devices = _sorted_devices(counts)
    doc_freq = Counter(d for r in docs for d in set(r.devices()))
    top = max(counts.values())
    bar_space = CHART_WIDTH - CHART_LABEL_WIDTH - 60  # 60: room for the count after the longest bar
    height = len(devices) * CHART_ROW_HEIGHT
    rows = []
    for k, device in enumerate(devices):
        y = k * CHART_ROW_HEIGHT
        width = max(1.0, counts[device] / top * bar_space)
        tip = f"{_name(device)}: {counts[device]} tags in {doc_freq[device]} of {len(docs)} documents"
        rows.append(
            f'<g><title>{_esc(tip)}</title>'
            f'<text x="{CHART_LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{_esc(_name(device))}</text>'
            f'<rect x="{CHART_LABEL_WIDTH}" y="{y + 4}" width="{width:.1f}" height="{CHART_BAR_HEIGHT}" rx="2" '
            f'fill="{_colour(device)}"/>'
            f'<text x="{CHART_LABEL_WIDTH + width + 6:.1f}" y="{y + 15}" class="num">{counts[device]}</text></g>')
    return (f'<svg class="chart" role="img" aria-label="Tags per device" viewBox="0 0 {CHART_WIDTH} {height}" '
            f'width="{CHART_WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>')


def _document_table(names: list[str], docs: list[Result]) -> str:
    rows = []
    for i, (name, result) in enumerate(zip(names, docs, strict=True)):
        if result.error is not None:
            cell = f'<span class="error-text">failed: {_esc(result.error)}</span>'
        else:
            cell = _device_chips(result) or '<span class="muted">none</span>'
        rows.append(f'<tr><td><a href="#doc-{i}">{_esc(name)}</a></td><td class="n">{len(result.sentences)}</td>'
                    f'<td class="n">{len(result.tags)}</td><td>{cell}</td></tr>')
    return ('<table class="docs"><thead><tr><th>document</th><th class="n">sentences</th><th class="n">tags</th>'
            f'<th>devices (tags)</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _device_chips(result: Result) -> str:
    counts = Counter(t.device for t in result.tags)
    return "".join(f'<span class="chip" title="{_esc(get_device(d).definition if d in DEVICE_IDS else d)}">'
                   f'<i style="background:{_colour(d)}"></i>{_esc(_name(d))} <b>{counts[d]}</b></span>'
                   for d in _sorted_devices(counts))


def _legend(counts: Counter[str]) -> str:
    items = []
    for device in DEVICE_IDS:
        d = get_device(device)
        absent = "" if counts[device] else " absent"
        items.append(f'<li class="d-{device}{absent}" title="{_esc(d.definition)}">'
                     f'<i style="background:{_colour(device)}"></i><span>{_esc(d.name)}</span>'
                     f'<b>{counts[device]}</b></li>')
    return f"""<section class="card" id="legend">
<h2>Legend</h2>
<p class="muted">One colour per device. A highlighted passage is tinted in the colour of its most probable
device and underlined once per device that covers it; hover over it for scores, sources and evidence.
Counts are tags in all documents; hover over a device for its definition.</p>
<ul class="legend">{"".join(items)}</ul>
</section>"""


# -- one document -----------------------------------------------------------------

def _document_section(index: int, name: str, result: Result) -> str:
    head = f'<section class="card doc" id="doc-{index}">\n<h2>{_esc(name)}</h2>'
    if result.error is not None:
        return f'{head}\n<p class="error-text">Could not be tagged: {_esc(result.error)}</p>\n</section>'
    if not result.text.strip():
        return f'{head}\n<p class="muted">Empty document.</p>\n</section>'
    words = len(result.text.split())
    meta = (f"{words:,} words · {len(result.sentences):,} sentences · {len(result.tags):,} tags · "
            f"{len(set(result.devices()))} devices")
    chips = _device_chips(result) or '<span class="muted">No devices found.</span>'
    strip = _strip(index, result) if result.tags else ""
    return f"""{head}
<p class="muted">{meta}</p>
<div class="chips">{chips}</div>
{strip}
<details open><summary>Text</summary>
<div class="text">{_highlighted_text(index, result)}</div>
</details>
</section>"""


def _strip(index: int, result: Result) -> str:
    """One lane per device; a tick wherever a tag lies, at its position in the
    text. Each tick links to its highlight in the text below."""
    devices = [d for d in DEVICE_IDS if d in set(result.devices())]
    devices += [d for d in result.devices() if d not in devices]  # devices outside the catalogue, if any
    length = max(len(result.text), 1)
    lane_space = STRIP_WIDTH - STRIP_LABEL_WIDTH
    pitch = STRIP_LANE_HEIGHT + STRIP_LANE_GAP
    height = len(devices) * pitch + 16  # 16: the "start ... end" axis labels under the lanes
    parts = []
    for k, device in enumerate(devices):
        y = k * pitch
        parts.append(f'<text x="{STRIP_LABEL_WIDTH - 8}" y="{y + 10}" text-anchor="end">{_esc(_name(device))}</text>'
                     f'<rect class="lane" x="{STRIP_LABEL_WIDTH}" y="{y}" width="{lane_space}" '
                     f'height="{STRIP_LANE_HEIGHT}"/>')
        for tag in result.tags:
            if tag.device != device:
                continue
            x = STRIP_LABEL_WIDTH + tag.start / length * lane_space
            width = max(STRIP_MIN_TICK, (tag.end - tag.start) / length * lane_space)
            tip = f"{_name(device)} {tag.score:.2f}: {_clip(tag.text, 80)}"
            parts.append(f'<a href="#doc-{index}-at-{tag.start}"><rect x="{x:.1f}" y="{y}" width="{width:.1f}" '
                         f'height="{STRIP_LANE_HEIGHT}" fill="{_colour(device)}"><title>{_esc(tip)}</title>'
                         f"</rect></a>")
    axis_y = len(devices) * pitch + 12
    parts.append(f'<text x="{STRIP_LABEL_WIDTH}" y="{axis_y}" class="axis">start of text</text>'
                 f'<text x="{STRIP_WIDTH}" y="{axis_y}" class="axis" text-anchor="end">end</text>')
    return (f'<svg class="strip" role="img" aria-label="Where the devices occur in the text" '
            f'viewBox="0 0 {STRIP_WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def segments(text: str, tags: Sequence[Tag]) -> list[tuple[int, int, list[Tag]]]:
    """The text cut at every tag start and end: (start, end, tags covering
    that stretch), covering the whole text in order. Empty tags are left out."""
    usable = sorted((t for t in tags if 0 <= t.start < t.end <= len(text)), key=lambda t: (t.start, t.end))
    cuts = sorted({0, len(text)} | {t.start for t in usable} | {t.end for t in usable})
    out: list[tuple[int, int, list[Tag]]] = []
    active: list[Tag] = []
    next_tag = 0
    for start, end in pairwise(cuts):
        active = [t for t in active if t.end > start]
        while next_tag < len(usable) and usable[next_tag].start <= start:
            active.append(usable[next_tag])
            next_tag += 1
        out.append((start, end, list(active)))
    return out


def _highlighted_text(index: int, result: Result) -> str:
    starts = {t.start for t in result.tags}
    parts = []
    for start, end, covering in segments(result.text, result.tags):
        piece = _esc(result.text[start:end])
        if not covering:
            parts.append(piece)
            continue
        anchor = f' id="doc-{index}-at-{start}"' if start in starts else ""
        parts.append(f'<span{anchor} class="hl {" ".join(_device_classes(covering))}" '
                     f'style="{_segment_style(covering)}" title="{_esc(_tooltip(covering))}">{piece}</span>')
    return "".join(parts)


def _device_classes(covering: Sequence[Tag]) -> list[str]:
    return [f"d-{d}" for d in dict.fromkeys(t.device for t in covering)]


def _segment_style(covering: Sequence[Tag]) -> str:
    """A tint of the most probable device and one underline per device, stacked."""
    devices = list(dict.fromkeys(t.device for t in sorted(covering, key=lambda t: -t.score)))
    lines = ",".join(f"inset 0 -{(k + 1) * UNDERLINE_PX}px 0 {_colour(d)}" for k, d in enumerate(devices))
    return (f"background:{_colour(devices[0])}{TINT_ALPHA};box-shadow:{lines};"
            f"padding-bottom:{len(devices) * UNDERLINE_PX}px")


def _tooltip(covering: Sequence[Tag]) -> str:
    """Plain text (escaped by the caller): per tag its device, score, source and evidence."""
    lines = []
    for tag in sorted(covering, key=lambda t: -t.score):
        lines.append(f"{_name(tag.device)} — score {tag.score:.2f} ({tag.source})")
        rules = list(dict.fromkeys(h.rule_id for h in tag.evidence.hits))
        if rules:
            lines.append(f"   rules: {', '.join(rules)}")
        if tag.evidence.features:
            lines.append("   features: " + ", ".join(f"{n} ({w:+.2f})" for n, w in tag.evidence.features))
    return "\n".join(lines)


def _stylesheet() -> str:
    colours = "".join(f"--c-{d}:{c};" for d, c in DEVICE_COLOURS.items())
    return f"""
:root{{{colours}--ink:#1d232b;--muted:#5f6b7a;--line:#e3e7ec;--page:#f5f6f8;--card:#fff;--bad:#b00020}}
*{{box-sizing:border-box}}
body{{margin:0;background:var(--page);color:var(--ink);
  font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Liberation Sans","DejaVu Sans",
  Arial,sans-serif}}
header{{background:#1d232b;color:#fff;padding:22px 0 18px}}
.wrap,main,footer{{max-width:960px;margin-left:auto;margin-right:auto;padding:0 24px}}
header h1{{margin:0;font-size:24px;font-weight:600;letter-spacing:.2px}}
header .subtitle{{margin:4px 0 0;color:#c5ccd6;font-size:14px}}
main{{padding-top:20px}}
.card{{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px 22px;margin:0 0 18px}}
h2{{font-size:18px;margin:0 0 10px;font-weight:600;overflow-wrap:anywhere}}
h3{{font-size:14px;margin:18px 0 8px;font-weight:600}}
.muted{{color:var(--muted);font-weight:400}}
p{{margin:6px 0}}
.figures{{display:flex;flex-wrap:wrap;gap:10px}}
.figure{{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:110px}}
.figure b{{display:block;font-size:22px;font-weight:600}}
.figure span{{color:var(--muted);font-size:13px}}
.figure.bad b{{color:var(--bad)}}
svg text{{font-size:13px;fill:var(--ink)}}
svg text.num,svg text.axis{{fill:var(--muted)}}
svg.chart{{max-width:100%;height:auto;display:block}}
svg.strip{{width:100%;height:auto;display:block;margin:10px 0 4px}}
svg.strip text{{font-size:13px}}
svg.strip .lane{{fill:#eef0f3}}
svg.strip a:hover rect{{stroke:#1d232b;stroke-width:1}}
table.docs{{border-collapse:collapse;width:100%;font-size:14px}}
table.docs th,table.docs td{{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}}
table.docs th{{color:var(--muted);font-weight:500}}
table.docs .n{{text-align:right;font-variant-numeric:tabular-nums}}
table.docs td:first-child{{width:30%;overflow-wrap:anywhere}}
td a{{color:inherit}}
.chip{{display:inline-flex;align-items:center;gap:5px;border:1px solid var(--line);border-radius:12px;
  padding:1px 9px 1px 7px;margin:2px 4px 2px 0;font-size:13px;white-space:nowrap;background:#fff}}
.chip i,.legend i{{display:inline-block;width:11px;height:11px;border-radius:3px;flex:none}}
.chip b{{font-weight:600}}
.legend{{list-style:none;padding:0;margin:10px 0 0;display:grid;gap:4px 18px;font-size:14px;
  grid-template-columns:repeat(auto-fill,minmax(280px,1fr))}}
.legend li{{display:flex;align-items:center;gap:8px;padding:2px 0}}
.legend li span{{flex:1}}
.legend li b{{font-weight:600;font-variant-numeric:tabular-nums}}
.legend li.absent{{opacity:.45}}
.error-text{{color:var(--bad)}}
details summary{{cursor:pointer;color:var(--muted);font-size:13px;margin:10px 0 6px}}
.text{{white-space:pre-wrap;overflow-wrap:break-word;font:16.5px/2.1 Georgia,"DejaVu Serif","Liberation Serif",serif;
  max-width:72ch;margin-top:4px}}
.hl{{border-radius:2px;box-decoration-break:clone;-webkit-box-decoration-break:clone}}
.hl:hover{{outline:1px solid #1d232b}}
.hl:target{{outline:2px solid #1d232b}}
footer{{color:var(--muted);font-size:13px;padding-bottom:32px}}
"""
