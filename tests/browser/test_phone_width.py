"""Pages with wide tables fit a phone's width: the table scrolls in its box, the page does not."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE, Visit, add_person, sign_in_through_the_form

pytestmark = pytest.mark.browser

PERSON = "e2e.phone.manager@example.org"
PAGES = [
    "/uploads",
    "/my-work",
    "/submissions",
    "/admin/runs",
    "/admin/outbox",
    "/admin/users",
    "/periods",
    "/summary",
    "/initiatives/1",
    "/initiatives/1/activities/new",
]


# What sticks out past the screen, outside a box that scrolls: for the failure message.
_WIDEST = """() => { const w = document.documentElement.clientWidth; const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.getBoundingClientRect().right > w + 1 && !el.closest('.table-scroll'))
      out.push(el.tagName + '.' + el.getAttribute('class')); }
  return out.slice(0, 6); }"""


def test_pages_with_tables_never_scroll_sideways_on_a_phone(browser, live_server) -> None:
    add_person(live_server, PERSON, ["rso_manager", "admin"])
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        visit = Visit(page=context.new_page(), server=live_server)
        sign_in_through_the_form(visit, PERSON)
        for path in PAGES:
            visit.goto(path)
            overflow = visit.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            widest = visit.page.evaluate(_WIDEST)
            assert overflow <= 0, f"{path} is {overflow} px wider than the screen: {widest}"
    finally:
        context.close()
