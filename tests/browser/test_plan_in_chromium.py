"""The plan pages as a person sees them, in a real Chromium: layout, navigation, keyboard."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

FOCUS_AREAS = (
    "Enhancing regional cooperation",
    "Capacity building",
    "Knowledge and information sharing",
    "Research and policy support",
)


def _initiative_link(page, code: str):
    return page.locator(".initiative-card h4 a").filter(
        has=page.locator("span.code", has_text=re.compile(rf"^{re.escape(code)}$"))
    )


def test_the_overview_shows_the_four_focus_areas_side_by_side(visit) -> None:
    visit.goto("/")
    page = visit.page
    assert page.locator("h1").inner_text() == "RSO Work Plan 2024-2026"
    columns = page.locator(".focus-column")
    assert columns.count() == 4
    for index, title in enumerate(FOCUS_AREAS):
        column = columns.nth(index)
        heading = column.locator("h2")
        assert heading.is_visible()
        text = " ".join(heading.text_content().split())  # as written, not as styled (capitals)
        assert text.startswith(f"Focus area {index + 1}")
        assert title in text
        assert column.locator(".goal-box h3").count() >= 1
        assert column.locator(".initiative-card").count() >= 1
    assert _initiative_link(page, "1.3").is_visible()
    assert page.get_by_text("International People Smuggling Investigations Program").is_visible()
    # At laptop width the four columns share one row, left to right, as Annex A shows them.
    boxes = [columns.nth(i).bounding_box() for i in range(4)]
    assert len({round(box["y"]) for box in boxes}) == 1
    assert [box["x"] for box in boxes] == sorted(box["x"] for box in boxes)
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_the_overview_screenshot_for_the_readme(visit) -> None:
    """Also kept as test-output/screenshots/overview-laptop.png (docs/screenshots/ is a copy)."""
    visit.goto("/")
    visit.page.wait_for_load_state("networkidle")
    visit.page.screenshot(path=str(SCREENSHOTS / "overview-laptop.png"), full_page=True)
    assert (SCREENSHOTS / "overview-laptop.png").stat().st_size > 10_000


def test_clicking_an_initiative_card_opens_its_page(visit) -> None:
    visit.goto("/")
    page = visit.page
    link = _initiative_link(page, "1.3")
    title = link.inner_text()
    link.click()
    page.wait_for_url(re.compile(r"/initiatives/\d+$"))
    assert page.locator("h1").inner_text() in title
    assert page.get_by_role("heading", name="Status history").is_visible()
    assert page.locator("ol.timeline li").count() >= 1
    activities = page.locator("section[aria-labelledby=activities-heading] table tbody tr")
    assert activities.filter(has_text="Kuala Lumpur").count() == 1
    breadcrumbs = page.get_by_role("navigation", name=re.compile("breadcrumb", re.I))
    assert "Initiative 1.3" in breadcrumbs.inner_text()


def test_an_indicator_page_draws_its_chart(visit) -> None:
    visit.goto("/")
    page = visit.page
    # 1.3.a counts the regional meetings delivered: Bangkok 2024-Q1 and Kuala Lumpur 2025-Q2.
    card = page.locator(".initiative-card").filter(
        has=page.locator("h4 span.code", has_text=re.compile(r"^1\.3$"))
    )
    card.locator(".mini-indicators a").first.click()
    page.wait_for_url(re.compile(r"/indicators/\d+$"))
    assert "Regional meetings convened" in page.locator("h1").inner_text()
    chart = page.locator("svg.chart")
    assert chart.count() == 1
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box["width"] > 200 and box["height"] > 50
    assert "by reporting period" in chart.locator("title").first.text_content()
    # One column per reporting period of the plan, 2024-Q1 to 2026-Q4; only the two periods
    # that had a meeting are drawn with a height.
    assert chart.locator("text.tick").count() == 12
    columns = chart.locator("rect.col")
    drawn = [
        columns.nth(i).locator("title").text_content()
        for i in range(columns.count())
        if columns.nth(i).bounding_box()["height"] > 10
    ]
    assert drawn == ["2024-Q1: 1", "2025-Q2: 1"]


def test_the_overview_fits_a_phone_screen(phone) -> None:
    phone.goto("/")
    page = phone.page
    assert page.evaluate("window.innerWidth") == 390
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 390px wide"
    columns = page.locator(".focus-column")
    assert columns.count() == 4
    # One column under the other, each as wide as the screen allows.
    boxes = [columns.nth(i).bounding_box() for i in range(4)]
    assert [box["y"] for box in boxes] == sorted(box["y"] for box in boxes)
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= 390 for box in boxes)


def test_the_skip_link_is_the_first_tab_stop_and_moves_focus_to_the_content(visit) -> None:
    visit.goto("/")
    page = visit.page
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.className, document.activeElement.textContent.trim()]"
    )
    assert focused == ["skip-link", "Skip to content"]
    assert page.locator(".skip-link").is_visible()  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_htmx_comes_from_the_app_and_nothing_from_another_host(visit) -> None:
    for path in ("/", "/member-states", "/periods"):
        visit.goto(path)
        visit.page.wait_for_load_state("networkidle")
        assert visit.page.evaluate("typeof window.htmx") == "object"
        assert visit.page.evaluate("htmx.version").startswith("2.")
    visit.goto("/")
    visit.page.locator(".initiative-card h4 a").first.click()
    visit.page.wait_for_url(re.compile(r"/initiatives/\d+$"))
    visit.page.wait_for_load_state("networkidle")
    assert visit.server.at("/assets/vendor/htmx.min.js") in visit.requests
    assert visit.foreign_requests() == []
