"""Browser tests: one real stack (auth on) and one Chromium for the whole package, a fresh browser context
per test (desktop, phone, or a guest that has not signed in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.browser import DESKTOP, PHONE, launch, new_context, signed_in_state
from tests.support.tiny_clip import TinyClip
from tests.support.ui_stack import UiStack, ui_stack


@pytest.fixture(scope="package")
def stack(tiny_clip: TinyClip, shared_data: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiStack]:
    with ui_stack(tiny_clip, shared_data, tmp_path_factory.mktemp("ui")) as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def signed_in(browser: Browser, stack: UiStack) -> Any:
    return signed_in_state(browser, stack.url, stack.key)


@pytest.fixture
def desktop(browser: Browser, stack: UiStack, signed_in: Any) -> Iterator[Page]:
    context = new_context(browser, stack.url, DESKTOP, signed_in)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Browser, stack: UiStack, signed_in: Any) -> Iterator[Page]:
    context = new_context(browser, stack.url, PHONE, signed_in)
    yield context.new_page()
    context.close()


@pytest.fixture
def guest(browser: Browser, stack: UiStack) -> Iterator[Page]:
    """A desktop browser that has not signed in."""
    context = new_context(browser, stack.url, DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def guest_phone(browser: Browser, stack: UiStack) -> Iterator[Page]:
    context = new_context(browser, stack.url, PHONE)
    yield context.new_page()
    context.close()
