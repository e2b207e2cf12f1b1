"""Label a cluster of faces with a new name; the person is then a search filter, and every photo found
with it shows that name."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot
from tests.support.ui_stack import UiStack

pytestmark = pytest.mark.ui

NAME = "Ada Testperson"


def test_label_a_cluster_then_search_with_the_person(desktop: Page, stack: UiStack) -> None:
    desktop.goto("/people")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("People")
    desktop.get_by_role("link", name="Review clusters").click()
    expect(desktop).to_have_url(f"{stack.url}/people/clusters")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Clusters to review")
    expect(desktop.get_by_role("button", name="Find people now")).to_be_visible()
    screenshot(desktop, "clusters")

    cluster = desktop.locator("section.cluster").first
    expect(cluster.get_by_role("heading", level=2)).to_have_text(re.compile(r"^Cluster \d+"))
    expect(cluster.locator("img").first).to_be_visible()
    cluster.get_by_label("Name", exact=True).fill(NAME)
    cluster.get_by_role("button", name="Label", exact=True).click()
    expect(desktop).to_have_url(re.compile(r"/people/clusters"))
    expect(desktop.get_by_role("status")).to_be_visible()  # the notice

    desktop.goto("/")
    with_all = desktop.get_by_label("With all of")
    expect(with_all.locator("option", has_text=NAME)).to_have_count(1)
    with_all.select_option(label=NAME)
    desktop.get_by_label("Search photos").fill("a photo")
    desktop.get_by_role("button", name="Search").click()
    expect(desktop).to_have_url(re.compile(r"[?&]people_all=\d+"))
    grid = desktop.get_by_role("list", name="Results")
    deadline = time.monotonic() + 60  # the filter follows the label once the faces service has applied it
    while grid.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        desktop.reload()
    expect(grid.get_by_role("listitem").first).to_be_visible()
    expect(desktop.get_by_label("With all of").locator("option:checked")).to_have_text(NAME)
    screenshot(desktop, "search-person")
    photos = [a.get_attribute("href") or "" for a in grid.locator("a[href^='/photos/']").all()]
    assert len(photos) >= 3, photos

    for href in photos:
        desktop.goto(href)
        expect(desktop.get_by_role("main")).to_contain_text(NAME)

    desktop.goto("/people")
    screenshot(desktop, "people")
    desktop.get_by_role("link", name=NAME).first.click()
    expect(desktop).to_have_url(re.compile(r"/people/\d+$"))
    expect(desktop.get_by_role("heading", level=1)).to_have_text(NAME)
    expect(desktop.locator("ul.grid a[href^='/photos/']").first).to_be_visible()  # their photos
    screenshot(desktop, "person")
