"""Search by text, open a result, then "More like this"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import broken_images, screenshot
from tests.support.ui_stack import UiStack

pytestmark = pytest.mark.ui


def results(page: Page) -> list[tuple[str, str]]:
    """(href, img alt) of each result in the grid."""
    grid = page.get_by_role("list", name="Results")
    expect(grid.get_by_role("listitem").first).to_be_visible()
    links = grid.get_by_role("listitem").locator("a[href^='/photos/']")
    return [(link.get_attribute("href") or "", link.locator("img").get_attribute("alt") or "")
            for link in links.all()]


def test_search_open_a_result_and_find_more_like_it(desktop: Page, stack: UiStack) -> None:
    desktop.goto("/")
    expect(desktop.get_by_role("list", name="Results")).to_have_count(0)  # no query: a hint, no grid
    desktop.get_by_label("Search photos").fill("a red circle")
    desktop.get_by_role("button", name="Search").click()
    expect(desktop).to_have_url(re.compile(r"[?&]q=a\+red\+circle"))
    found = results(desktop)
    assert found and all(re.fullmatch(r"/photos/[0-9a-f]{64}", href) for href, _ in found), found
    assert all(alt.lower().endswith(".jpg") for _, alt in found), found
    grid = desktop.get_by_role("list", name="Results")
    expect(grid.locator("img").first).to_have_attribute(
        "src", re.compile(r"/api/v1/images/[0-9a-f]{64}/thumbnail"))
    assert broken_images(desktop) == []  # thumbnails come from the API, with the session cookie
    screenshot(desktop, "search")

    href, name = found[0]
    desktop.get_by_role("list", name="Results").locator(f"a[href='{href}']").click()
    expect(desktop).to_have_url(f"{stack.url}{href}")
    expect(desktop.get_by_role("heading", level=1)).to_have_text(name)
    expect(desktop.locator("dl.meta")).to_contain_text("Path")
    image_id = href.rsplit("/", 1)[1]
    expect(desktop.locator("main img").first).to_be_visible()
    screenshot(desktop, "photo")

    desktop.get_by_role("link", name="More like this").click()
    expect(desktop).to_have_url(re.compile(rf"[?&]similar={image_id}"))
    similar = results(desktop)
    assert similar and href not in {h for h, _ in similar}, similar
    screenshot(desktop, "similar")
