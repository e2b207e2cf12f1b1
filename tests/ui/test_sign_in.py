"""Auth on: every page and the API want a key; the login page takes one and sets a session cookie."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot, sign_in
from tests.support.ui_stack import UiStack

pytestmark = pytest.mark.ui


def test_pages_and_api_want_a_key_and_the_login_page_takes_one(guest: Page, stack: UiStack) -> None:
    guest.goto("/")
    expect(guest).to_have_url(re.compile(r"/login\?next=(/|%2F)$"))
    expect(guest.get_by_label("API key")).to_have_attribute("type", "password")
    screenshot(guest, "login")

    sign_in(guest, "not-a-key-" + "x" * 20)
    expect(guest.get_by_role("alert")).to_contain_text("not a valid API key")
    expect(guest).to_have_url(re.compile(r"/login"))
    assert not [c for c in guest.context.cookies() if c["name"] == "imgsearch_session"]

    sign_in(guest, stack.key)
    expect(guest).to_have_url(f"{stack.url}/")
    expect(guest.get_by_role("search")).to_be_visible()
    cookie = next(c for c in guest.context.cookies() if c["name"] == "imgsearch_session")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/"), cookie

    # The page's own scripts call the API with the cookie; anyone else needs a key.
    assert guest.request.get("/api/v1/sessions").status == 200
    for path in ("/api/v1/search?q=a+photo", "/api/v1/sessions", "/api/v1/people"):
        assert httpx.get(stack.url + path, timeout=10).status_code == 401, path

    guest.get_by_role("button", name="Sign out").click()
    expect(guest).to_have_url(re.compile(r"/login"))
    guest.goto("/people")
    expect(guest).to_have_url(re.compile(r"/login\?next=(/people|%2Fpeople)$"))


def test_sign_in_returns_to_the_page_asked_for(guest: Page, stack: UiStack) -> None:
    guest.goto("/?q=a+red+circle")
    expect(guest).to_have_url(re.compile(r"/login\?next="))
    sign_in(guest, stack.key)
    expect(guest).to_have_url(f"{stack.url}/?q=a+red+circle")
    expect(guest.get_by_label("Search photos")).to_have_value("a red circle")
