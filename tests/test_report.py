"""The HTML report: segments, escaping, errors, self-containment, the command,
and the seeds' report as a person sees it, in headless Chromium."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from rhetoric.cli import main
from rhetoric.devices import DEVICE_IDS
from rhetoric.report import DEVICE_COLOURS, segments, to_html
from rhetoric.rules import Hit
from rhetoric.tagger import Evidence, Result, Tag, Tagger

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def make_tag(text: str, device: str, start: int, end: int, score: float = 0.8, rule: str | None = None,
             features: tuple[tuple[str, float], ...] = ()) -> Tag:
    hits = (Hit(0, start, end, rule, device),) if rule else ()
    return Tag(device, start, end, text[start:end], score, "rule+model" if rule else "model", 0,
               Evidence(hits, features))


@pytest.fixture(scope="module")
def rules_tagger() -> Tagger:
    return Tagger.load(rules_only=True)


# -- segments ------------------------------------------------------------------------------

SEGMENT_CASES = [
    # (tags as (device, start, end), expected (start, end, devices) over "abcdefghij")
    ([], [(0, 10, set())]),
    ([("doubt", 2, 5)], [(0, 2, set()), (2, 5, {"doubt"}), (5, 10, set())]),
    ([("doubt", 0, 6), ("slogans", 3, 10)],
     [(0, 3, {"doubt"}), (3, 6, {"doubt", "slogans"}), (6, 10, {"slogans"})]),
    ([("doubt", 0, 10), ("slogans", 4, 6)],  # nested
     [(0, 4, {"doubt"}), (4, 6, {"doubt", "slogans"}), (6, 10, {"doubt"})]),
    ([("doubt", 3, 3)], [(0, 10, set())]),  # an empty tag cannot be drawn
]


@pytest.mark.parametrize(("spans", "expected"), SEGMENT_CASES)
def test_segments_carry_every_covering_device(spans, expected):
    text = "abcdefghij"
    tags = [make_tag(text, d, s, e) for d, s, e in spans]
    got = [(s, e, {t.device for t in covering}) for s, e, covering in segments(text, tags)]
    assert got == expected


# -- the page -----------------------------------------------------------------------------

def test_overlapping_devices_share_a_segment_with_their_evidence():
    text = "They shamelessly lied again.\nHistory will judge."
    tags = (make_tag(text, "loaded_language", 5, 16, 0.91, "loaded_language.lexicon", (("w:shameless", 1.25),)),
            make_tag(text, "doubt", 0, 27, 0.42))
    page = to_html([Result(text, ((0, 27), (29, 48)), tags)], ["doc"])
    spans = re.findall(r'<span[^>]*class="hl [^"]*"[^>]*>', page)
    (both,) = [s for s in spans if "d-loaded_language" in s and "d-doubt" in s]
    assert "Loaded language — score 0.91 (rule+model)" in both and "Doubt — score 0.42 (model)" in both
    assert "loaded_language.lexicon" in both and "w:shameless (+1.25)" in both
    assert both.count("inset 0 -") == 2  # one underline per device
    assert re.search(r"Loaded language <b>1</b>", page) and re.search(r"Doubt <b>1</b>", page)
    assert '<svg class="strip"' in page and '<svg class="chart"' in page


def test_input_text_is_escaped(rules_tagger):
    text = '<script>alert("x")</script> The so-called experts shamelessly lied. <img src=x onerror=alert(1)>'
    result = rules_tagger.tag(text)
    assert result.tags  # the escaping must also hold inside highlights and tooltips
    page = to_html([result], ['<b onmouseover="alert(2)">id</b>'], title="<i>t</i>", subtitle="<u>s</u>")
    assert "<script" not in page and "<img" not in page and "<b onmouseover" not in page
    assert "<i>t</i>" not in page and "<u>s</u>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_failed_records_are_listed_not_dropped():
    page = to_html([Result("", error="in.jsonl:2: no field 'text'"), Result("")], ["in.jsonl:2", "empty"])
    assert page.count("no field &#x27;text&#x27;") == 2  # documents table and the document's own section
    assert '<div class="figure bad"><b>1</b><span>failed</span>' in page
    assert "Empty document." in page and "No devices found." in page


def test_page_is_self_contained_with_one_colour_per_device(rules_tagger):
    page = to_html([rules_tagger.tag(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))])
    for needle in ("<script", "<link", "src=", "@import", "url(", "@font-face", 'href="http'):
        assert needle not in page
    assert list(DEVICE_COLOURS) == list(DEVICE_IDS) and len(set(DEVICE_COLOURS.values())) == 20
    for device in DEVICE_IDS:
        assert page.count(f"--c-{device}:") == 1  # every colour defined once in the stylesheet
        assert f'<li class="d-{device}' in page  # and in the legend


def test_ids_must_match_results():
    with pytest.raises(ValueError, match="1 ids for 2 results"):
        to_html([Result("a"), Result("b")], ["only one"])


def test_report_command_writes_one_page_with_errors(tmp_path, capsys):
    out = tmp_path / "report.html"
    code = main(["report", str(SEEDS), str(tmp_path / "missing.txt"), "--rules-only", "-o", str(out),
                 "--title", "Seeds"])
    err = capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    assert code == 1 and "1 of 3 records failed" in err
    assert "missing.txt: no such file or directory" in page and "<title>Seeds</title>" in page
    assert all(str(p) in page for p in SEEDS.glob("*.txt"))
    assert "Tagged by the rules alone" in page


# -- in a real browser --------------------------------------------------------------------

def run_chromium(url: str, *flags: str) -> str:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", *flags, url],
            capture_output=True, text=True, timeout=90, check=False)  # 90 s: a cold start on a slow CI machine
    return done.stdout


def png_rgb(data: bytes) -> np.ndarray:
    """A non-interlaced 8-bit RGB or RGBA PNG as a (height, width, 3) array,
    decoded with zlib and struct (no imaging library needed)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += length + 12  # 12: length, type and CRC fields
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, "unsupported PNG layout"
    channels = 3 if colour_type == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8).reshape(height, width * channels + 1)
    rows = np.zeros((height, width * channels), dtype=np.uint8)
    previous = np.zeros(width * channels, dtype=np.uint8)
    for y in range(height):
        rows[y] = previous = _unfilter(raw[y, 0], raw[y, 1:], previous, channels)
    return rows.reshape(height, width, channels)[:, :, :3]


def _unfilter(kind: int, line: np.ndarray, up: np.ndarray, bpp: int) -> np.ndarray:
    """Undo one scanline's PNG filter (PNG spec section 9.2); uint8 sums wrap mod 256 as the spec wants."""
    if kind == 0:
        return line
    if kind == 1:  # Sub: a running sum per channel
        return np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).ravel()
    if kind == 2:  # Up
        return line + up
    out = bytearray(line.tobytes())
    above = up.tobytes()
    for i in range(len(out)):
        a = out[i - bpp] if i >= bpp else 0
        b, c = above[i], (above[i - bpp] if i >= bpp else 0)
        if kind == 3:  # Average
            out[i] = (out[i] + (a + b) // 2) & 0xFF
        else:  # Paeth
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return np.frombuffer(bytes(out), dtype=np.uint8)


class DeviceHighlights(HTMLParser):
    """Counts highlighted text segments per device class, and script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.per_device: Counter[str] = Counter()
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        self.scripts += tag == "script"
        if tag == "span" and "hl" in classes:
            self.per_device.update(c[2:] for c in classes if c.startswith("d-"))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")
def test_seed_report_renders_in_chromium(tmp_path, rules_tagger):
    page = tmp_path / "seeds.html"
    assert main(["report", str(SEEDS), "--rules-only", "-o", str(page)]) == 0
    found = {t.device for p in SEEDS.glob("*.txt") for t in rules_tagger.tag(p.read_text(encoding="utf-8")).tags}
    assert found, "the seeds should hold some devices"

    shot = tmp_path / "seeds.png"
    run_chromium(page.as_uri(), f"--screenshot={shot}", "--window-size=1280,1100")
    assert shot.is_file(), "chromium wrote no screenshot"
    pixels = png_rgb(shot.read_bytes())
    colours, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    background_share = counts.max() / counts.sum()
    assert background_share < 0.9, "the page looks blank"
    drawn = {"#{:02X}{:02X}{:02X}".format(*c) for c in colours}
    missing = {d for d in found if DEVICE_COLOURS[d] not in drawn}
    assert not missing, f"no bar of these device colours on screen: {missing}"

    dom = DeviceHighlights()
    dom.feed(run_chromium(page.as_uri(), "--dump-dom"))
    assert dom.per_device, "the DOM dump holds no highlights"
    assert not found - set(dom.per_device), f"devices tagged but not highlighted: {found - set(dom.per_device)}"
    assert dom.scripts == 0
