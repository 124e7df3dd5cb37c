"""The summary in a real Chromium: filters swap the figures in place and the URL follows."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_changing_a_filter_swaps_the_summary_and_updates_the_address(visit) -> None:
    visit.goto("/summary?from=2025-Q1&to=2025-Q2")
    page = visit.page
    assert page.locator("h1").inner_text() == "Summary: 2025-Q1 to 2025-Q2"
    page.evaluate("window.notReloaded = true")  # gone if the browser loads a whole new page
    page.locator("select[name=to]").select_option("2025-Q3")
    page.wait_for_url("**/summary?from=2025-Q1&to=2025-Q3**")
    assert page.locator("h1").inner_text() == "Summary: 2025-Q1 to 2025-Q3"
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("svg.heatmap").count() == 1
    assert visit.foreign_requests() == []


def test_the_summary_prints_on_a4_without_navigation_or_filters(visit) -> None:
    visit.goto("/summary")
    page = visit.page
    page.emulate_media(media="print")
    assert not page.locator(".site-nav").is_visible()
    assert not page.locator("form.summary-filters").is_visible()
    assert page.locator("h1").is_visible()
    assert page.pdf(format="A4")[:4] == b"%PDF"
