"""Every page at phone width (390 px): no horizontal scroll, every form control named; and the keyboard
path from the top of the page to the search box."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import broken_images, focused, horizontal_overflow, screenshot, unnamed_controls
from tests.support.ui_stack import UiStack

pytestmark = pytest.mark.ui


def _first_photo(stack: UiStack) -> str:
    hits = stack.get("/api/v1/search", q="a photo", limit=1)["hits"]
    return f"/photos/{hits[0]['image_id']}"


def _a_person(stack: UiStack) -> str:
    """The person with most photos; when no cluster was labeled yet, the smallest cluster is labeled here
    (the people test labels the first one)."""
    people = stack.get("/api/v1/people", limit=50)["people"]
    if not people:
        clusters = stack.get("/api/v1/clusters", limit=50)["clusters"]
        reply = stack.api().post(f"/api/v1/clusters/{clusters[-1]['cluster_id']}/label",
                                 json={"name": "Phone Person"})
        assert reply.status_code == 200, reply.text
        return f"/people/{reply.json()['person_id']}"
    best = max(people, key=lambda p: p["photo_count"])
    return f"/people/{best['person_id']}"


def _a_session(stack: UiStack) -> str:
    sessions = stack.get("/api/v1/sessions")["sessions"]
    done = [s for s in sessions if s["state"] == "done"]
    return f"/import/sessions/{done[0]['id']}"


PAGES: dict[str, Callable[[UiStack], str]] = {
    "search": lambda stack: "/?q=a+photo",
    "photo": _first_photo,
    "people": lambda stack: "/people",
    "clusters": lambda stack: "/people/clusters",
    "person": _a_person,
    "import": lambda stack: f"/import?path={quote(str(stack.library))}",
    "import-session": _a_session,
    "system": lambda stack: "/system",
}


def _check(page: Page, name: str) -> None:
    expect(page.get_by_role("main")).to_be_visible()
    assert horizontal_overflow(page) <= 0, f"{name}: the page scrolls sideways at {page.viewport_size}"
    assert unnamed_controls(page) == [], f"{name}: controls without a label or aria-label"
    assert broken_images(page) == [], f"{name}: images that did not load"
    shown_hidden = page.evaluate("[...document.querySelectorAll('[hidden]')]"
                                 ".filter(e => e.getClientRects().length).map(e => e.outerHTML)")
    assert shown_hidden == [], f"{name}: elements marked hidden are on screen"
    screenshot(page, name)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_a_phone_and_names_its_controls(phone: Page, stack: UiStack, name: str) -> None:
    response = phone.goto(PAGES[name](stack))
    assert response is not None and response.status == 200, f"{name}: {response and response.status}"
    _check(phone, name)


def test_login_page_fits_a_phone(guest_phone: Page) -> None:
    response = guest_phone.goto("/login")
    assert response is not None and response.status == 200
    _check(guest_phone, "login")


def test_keyboard_reaches_the_skip_link_then_the_search_box(desktop: Page) -> None:
    desktop.goto("/?q=a+photo")  # with a query the search box is not autofocused: start from the top
    desktop.keyboard.press("Tab")
    first = focused(desktop)
    assert (first["tag"], first["text"]) == ("a", "Skip to content"), first
    assert first["ring"] == "true", f"no visible focus on the skip link: {first}"
    for _ in range(30):
        desktop.keyboard.press("Tab")
        if focused(desktop)["name"] == "q":
            break
    expect(desktop.get_by_label("Search photos")).to_be_focused()
    assert focused(desktop)["ring"] == "true", "no visible focus on the search box"
    desktop.keyboard.press("ControlOrMeta+a")
    desktop.keyboard.type("a blue square")
    desktop.keyboard.press("Enter")
    expect(desktop).to_have_url(re.compile(r"[?&]q=a\+blue\+square"))
    expect(desktop.get_by_role("list", name="Results").get_by_role("listitem").first).to_be_visible()


def test_on_a_phone_the_filters_fold_once_there_are_results(phone: Page, desktop: Page) -> None:
    phone.goto("/?q=a+photo")
    expect(phone.get_by_role("list", name="Results").get_by_role("listitem").first).to_be_visible()
    expect(phone.get_by_label("With all of")).to_be_hidden()  # folded: results are on the first screen
    phone.get_by_text("Filters", exact=True).click()
    expect(phone.get_by_label("With all of")).to_be_visible()
    phone.goto("/")  # nothing searched yet: the filters stay open
    expect(phone.get_by_label("With all of")).to_be_visible()
    desktop.goto("/?q=a+photo")  # a wide screen keeps them open beside the results
    expect(desktop.get_by_label("With all of")).to_be_visible()
