"""Import a folder from the UI and watch its progress reach 100 %."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot
from tests.support.ui_stack import INCOMING, UiStack

pytestmark = pytest.mark.ui


def test_import_a_folder_and_watch_it_finish(desktop: Page, stack: UiStack) -> None:
    desktop.goto(f"/import?path={quote(str(stack.library))}")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Import")
    expect(desktop.get_by_label("Priority")).to_have_value("normal")
    expect(desktop.get_by_role("link", name="Open").first).to_be_visible()
    screenshot(desktop, "import")
    incoming = desktop.get_by_label("incoming", exact=True)
    expect(incoming).to_have_attribute("name", "subdirectories")
    incoming.check()
    desktop.get_by_role("button", name="Start import").click()
    expect(desktop).to_have_url(re.compile(r"/import/sessions/\d+(\?|$)"))
    session = urlsplit(desktop.url).path
    expect(desktop.get_by_role("heading", level=1)).to_contain_text("Import")

    # The page's script keeps the bar current: no reload here.
    overall = desktop.get_by_role("progressbar", name="Overall progress")
    expect(overall).to_have_attribute("max", "100")
    expect(overall).to_have_attribute("value", "100", timeout=120_000)
    expect(desktop.locator("#session-state")).to_contain_text("done", timeout=30_000)
    screenshot(desktop, "import-session")

    desktop.goto(f"/?q=a+photo&folder={quote(str(stack.incoming))}")
    found = desktop.get_by_role("list", name="Results").get_by_role("listitem")
    expect(found).to_have_count(INCOMING)

    desktop.goto("/import")  # the sessions list links to it
    expect(desktop.locator(f"a[href='{session}']").first).to_be_visible()
