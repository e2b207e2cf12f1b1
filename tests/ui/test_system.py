"""The system page: queues per consumer."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot

pytestmark = pytest.mark.ui


def test_system_page_shows_the_queues(desktop: Page) -> None:
    desktop.goto("/system")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("System")
    queues = desktop.locator("table", has=desktop.locator("caption", has_text="Queues"))
    expect(queues).to_have_count(1)
    header = queues.locator("thead")
    for column in ("stream", "consumer", "pending", "unacked", "redelivered"):
        expect(header).to_contain_text(column, ignore_case=True)
    expect(queues.locator("tbody tr").first).to_be_visible()
    expect(queues.locator("tbody")).to_contain_text("embed")  # the embed service's durable consumer
    screenshot(desktop, "system")
