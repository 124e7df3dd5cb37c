"""The co-chairs' summary on A4 paper, in a real Chromium with JavaScript off.

Chromium lays a printed page out at the width of the paper between its margins and, when
something is wider than that, shrinks the whole page until it fits: every letter with it. So
the page is laid out here as print lays it out (print media, a viewport as wide as the printable
area that print.css's @page rule leaves), and what must hold is measured: nothing reaches past
the right edge, the type is a readable size, titles keep a readable measure, headers repeat and
rows stay whole, the filters and buttons are gone and the charts keep their labels. Then the
real PDF is read: A4 pages drawn at 0.75 pt per CSS pixel, the natural scale, not shrunk.

The heat map's key is checked on screen too: whole at any width, however few the periods.
"""

from __future__ import annotations

import re
import zlib

import pytest
from sqlmodel import select

from app.db import unit_of_work
from app.plan.models import MemberState
from tests.browser.conftest import PHONE, SCREENSHOTS
from tests.browser.summary_print_data import add_approved_values

pytestmark = pytest.mark.browser

PX_PER_MM = 96 / 25.4
A4_MM = (210, 297)
A4_PT = (595.92, 842.88)  # Chromium's A4 media box, in points
NATURAL_PT_PER_PX = 72 / 96  # a CSS pixel is three quarters of a point when nothing is shrunk
BODY_MIN_PT = 9
TABLE_MIN_PT = 8
TITLE_MIN_MM = 40  # an indicator's title column: about five words a line at 8 pt


@pytest.fixture(scope="module")
def sri_lanka(live_server) -> int:
    """Four quarters of approved reports from four states, so every table is full; the id of
    Sri Lanka, one of them (its filter adds a column to the indicator tables)."""
    add_approved_values(live_server)
    with live_server.app.app_context(), unit_of_work() as session:
        return session.exec(select(MemberState.id).where(MemberState.code == "LKA")).one()


def _addresses(state_id: int) -> dict[str, str]:
    return {
        "every-period": "/summary",
        # The widest tables: a member state's column and a range written over three lines.
        "one-state": f"/summary?from=2024-Q3&to=2025-Q2&member_state={state_id}",
        # The tester's case: few periods, one focus area, one state.
        "few-periods": f"/summary?from=2025-Q1&to=2025-Q2&focus_area=3&member_state={state_id}",
    }


def _page_box(page) -> dict[str, str]:
    """The @page rule the page's style sheets declare (size and margins), as written."""
    box = page.evaluate(
        """() => {
          for (const sheet of document.styleSheets) {
            for (const rule of sheet.cssRules) {
              if (rule instanceof CSSPageRule) {
                const s = rule.style;
                return {size: s.getPropertyValue('size'), top: s.getPropertyValue('margin-top'),
                        right: s.getPropertyValue('margin-right'),
                        bottom: s.getPropertyValue('margin-bottom'),
                        left: s.getPropertyValue('margin-left')};
              }
            }
          }
          return null;
        }"""
    )
    assert box is not None, "no @page rule: the browser's default paper and margins apply"
    return box


def _mm(length: str) -> float:
    match = re.fullmatch(r"([\d.]+)mm", length)
    assert match, f"a margin in millimetres, not {length!r}"
    return float(match.group(1))


def _print_layout(visit, path: str) -> tuple[int, int]:
    """Open ``path`` laid out as an A4 page prints it; returns the printable width and height
    in CSS pixels (rounded down: a hair narrower than the paper's, never wider)."""
    visit.goto(path)
    page = visit.page
    box = _page_box(page)
    assert box["size"].split()[0].lower() == "a4" and "landscape" not in box["size"]
    margins = {side: _mm(box[side]) for side in ("top", "right", "bottom", "left")}
    assert all(5 <= m <= 25 for m in margins.values()), margins
    width = int((A4_MM[0] - margins["left"] - margins["right"]) * PX_PER_MM)
    height = int((A4_MM[1] - margins["top"] - margins["bottom"]) * PX_PER_MM)
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(media="print")
    return width, height


MEASURE = """(width) => {
  const shown = (el) => el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== 'hidden';
  const pt = (el) => parseFloat(getComputedStyle(el).fontSize) * 0.75;
  const all = (sel) => [...document.querySelectorAll(sel)].filter(shown);
  const name = (el) => el.tagName.toLowerCase()
    + (typeof el.className === 'string' && el.className
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const beyond = all('#summary *').filter(el => el.getBoundingClientRect().right > width + 0.5)
    .map(el => name(el) + ' ends at ' + Math.round(el.getBoundingClientRect().right));
  const svgs = [...document.querySelectorAll('svg.chart')].map(svg => ({
    cls: svg.getAttribute('class'), shown: shown(svg),
    drawn: svg.getBoundingClientRect().width,
    natural: parseFloat(svg.getAttribute('viewBox').split(/\\s+/)[2]),
    titled: !!svg.querySelector(':scope > title') && svg.querySelectorAll('text').length > 0,
  }));
  return {
    scrollWidth: document.documentElement.scrollWidth,
    beyond: beyond.slice(0, 10),
    tables: all('table.data').map(t => Math.ceil(t.getBoundingClientRect().right)),
    indicatorTables: all('table.summary-indicators').length,
    cellPt: Math.min(...all('table.data td, table.data th').map(pt)),
    figurePt: Math.min(...all('.bar-figure, .spark-figure').map(pt)),
    textPt: Math.min(...all('#summary p, #summary li').map(pt)),
    titleMm: Math.min(...all('table.summary-indicators tbody th[scope=row]')
      .map(th => th.getBoundingClientRect().width / (96 / 25.4))),
    theads: [...new Set([...document.querySelectorAll('table.data thead')]
      .map(h => getComputedStyle(h).display))],
    rowBreaks: [...new Set([...document.querySelectorAll('table.data tbody tr')]
      .map(r => getComputedStyle(r).breakInside))],
    controls: all('form, select, input, button, nav, .site-header, .exports')
      .map(name).slice(0, 10),
    captions: all('h3.chart-caption').length,
    legend: all('.chart-legend li').map(li => [li.textContent.trim(),
      Math.ceil(li.getBoundingClientRect().right), li.scrollWidth <= li.clientWidth]),
    svgs,
  };
}"""


@pytest.mark.parametrize("which", ["every-period", "one-state", "few-periods"])
def test_the_summary_lays_out_on_an_a4_page_without_shrinking(no_script, sri_lanka, which):
    width, _ = _print_layout(no_script, _addresses(sri_lanka)[which])
    found = no_script.page.evaluate(MEASURE, width)

    # Nothing wider than the paper between its margins: Chromium has no reason to shrink it.
    assert found["scrollWidth"] <= width, found["beyond"]
    assert found["beyond"] == []
    assert found["indicatorTables"] >= 1
    assert max(found["tables"]) <= width
    # Readable type, and titles in lines of several words rather than one.
    assert found["cellPt"] >= TABLE_MIN_PT - 0.01
    assert found["figurePt"] >= TABLE_MIN_PT - 0.01
    assert found["textPt"] >= BODY_MIN_PT - 0.01
    assert found["titleMm"] >= TITLE_MIN_MM
    # Each page a table runs onto starts with its header; no row is cut in two.
    assert found["theads"] == ["table-header-group"]
    assert found["rowBreaks"] == ["avoid"]
    # Paper has no use for filters, links to downloads, navigation or buttons.
    assert found["controls"] == []
    # The charts keep their titles and labels, drawn at (about) their own size.
    assert found["captions"] == 2
    assert {s["cls"] for s in found["svgs"]} == {"chart rag-chart", "chart heatmap"}
    for svg in found["svgs"]:
        assert svg["shown"] and svg["titled"], svg
        assert svg["drawn"] <= width and svg["drawn"] >= 0.95 * min(svg["natural"], width), svg
    heat_map = next(s for s in found["svgs"] if s["cls"] == "chart heatmap")
    assert heat_map["drawn"] == pytest.approx(heat_map["natural"], abs=0.5)
    assert len(found["legend"]) == 6
    assert all(right <= width and whole for _, right, whole in found["legend"]), found["legend"]


def test_the_pdf_is_a4_at_its_natural_scale(no_script, sri_lanka) -> None:
    _print_layout(no_script, "/summary")
    pdf = no_script.page.pdf(format="A4")
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / "summary-a4.pdf").write_bytes(pdf)

    pages = _pdf_pages(pdf)
    assert len(pages) >= 2
    for number, (media_box, scale) in enumerate(pages, start=1):
        assert media_box[:2] == [0, 0]
        assert media_box[2:] == pytest.approx(A4_PT, abs=1), f"page {number}"
        # 0.533 when the indicator tables were 964 px wide on a 688 px page.
        assert scale == pytest.approx(NATURAL_PT_PER_PX, abs=0.005), f"page {number}"


def _pdf_pages(pdf: bytes) -> list[tuple[list[float], float]]:
    """Each page's media box and its drawing scale in points per CSS pixel.

    Chromium (Skia) opens a page's content with two transforms: points per device pixel, then
    the page's zoom; their product is 0.75 at the natural scale and less when the page was
    shrunk to fit the paper. Read without a PDF library: objects and streams, as written.
    """
    objects = {
        int(m.group(1)): m.group(2) for m in re.finditer(rb"(?s)(\d+) 0 obj(.*?)endobj", pdf)
    }
    pages = []
    for body in objects.values():
        if not re.search(rb"/Type\s*/Page(?![a-zA-Z])", body):
            continue
        box = re.search(rb"/MediaBox\s*\[([^\]]*)\]", body)
        contents = re.search(rb"/Contents\s+(\d+)\s+0\s+R", body)
        assert box and contents, body[:200]
        stream = objects[int(contents.group(1))]
        head, _, rest = stream.partition(b"stream")
        data = rest.lstrip(b"\r\n").rsplit(b"endstream", 1)[0]
        if b"/FlateDecode" in head:
            data = zlib.decompress(data)
        number = rb"(-?[\d.]+)"
        transforms = re.findall(rb" ".join([number] * 6) + rb"\s+cm", data)
        assert len(transforms) >= 2, data[:200]
        scale = abs(float(transforms[0][0])) * abs(float(transforms[1][0]))
        pages.append(([float(v) for v in box.group(1).split()], scale))
    return pages


@pytest.mark.parametrize("width", [1280, PHONE["width"]])
def test_the_heat_maps_key_is_whole_on_screen(no_script, sri_lanka, width) -> None:
    """Drawn at its own size (its labels as large as the page's small print), the grid
    scrolls sideways on a phone; its key wraps to the screen and is never cut off."""
    page = no_script.page
    page.set_viewport_size({"width": width, "height": 900})
    for path in _addresses(sri_lanka).values():
        no_script.goto(path)
        found = page.evaluate(
            """() => {
              const svg = document.querySelector('svg.heatmap');
              const panel = svg.closest('.panel').getBoundingClientRect();
              const inside = (r) => r.left >= panel.left && r.right <= panel.right;
              return {
                panel: panel.right,
                scroller: inside(svg.closest('.heatmap-scroll').getBoundingClientRect()),
                drawn: svg.getBoundingClientRect().width,
                natural: parseFloat(svg.getAttribute('width')),
                key: [...document.querySelectorAll('.chart-legend li')].map(li => [
                  li.lastChild.textContent.trim(), inside(li.getBoundingClientRect()),
                  li.scrollWidth <= li.clientWidth]),
              };
            }"""
        )
        # The grid scrolls inside its panel (a phone's is narrower than the grid); the panel
        # stays on the screen.
        assert found["panel"] <= width and found["scroller"], path
        assert found["drawn"] == pytest.approx(found["natural"], abs=0.5), path
        assert [words for words, _, _ in found["key"]] == [
            "Approved",
            "Submitted on time",
            "Submitted late",
            "Returned for changes",
            "Missing",
            "Not yet due",
        ]
        assert all(inside and whole for _, inside, whole in found["key"]), (path, found["key"])
