"""Chromium for the browser tests: Debian's build, launched by path (Playwright's own browser download is
not used), contexts signed in through /login, full-page screenshots, and the page checks every page must
pass (no horizontal scroll, every control named)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

REPO = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = REPO / ".cache" / "ui-screenshots"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                         "device_scale_factor": 2}
PHONE_MAX_WIDTH = 600  # a page narrower than this is screenshot as "-phone"


def chromium_path() -> str:
    """IMGSEARCH_TEST_CHROMIUM, else Debian's /usr/bin/chromium; a clear message when neither is there."""
    wanted = os.environ.get("IMGSEARCH_TEST_CHROMIUM") or DEFAULT_CHROMIUM
    found = shutil.which(wanted)
    if found is None:
        raise RuntimeError(
            f"chromium not found at {wanted!r}: install it (Debian: apt-get install -y chromium; "
            "`make chromium` does so as root) or point IMGSEARCH_TEST_CHROMIUM at a Chromium binary")
    return found


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def new_context(browser: Browser, base_url: str, device: dict[str, Any],
                storage_state: Any = None) -> BrowserContext:
    context = browser.new_context(base_url=base_url, storage_state=storage_state, **device)
    context.set_default_timeout(15_000)
    return context


def sign_in(page: Page, key: str) -> None:
    """Through the login form; ends on the page the login sent us to."""
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def signed_in_state(browser: Browser, base_url: str, key: str) -> Any:
    """Cookies of a context that signed in through /login once (for contexts made later)."""
    context = new_context(browser, base_url, DESKTOP)
    try:
        page = context.new_page()
        page.goto("/login")
        sign_in(page, key)
        expect(page).to_have_url(f"{base_url}/")
        return context.storage_state()
    finally:
        context.close()


LOAD_IMAGES = """async () => {
  const images = [...document.images];
  images.forEach(image => { image.loading = 'eager'; });
  const loaded = (image) => image.complete ? Promise.resolve() : new Promise(done => {
    image.addEventListener('load', done, {once: true});
    image.addEventListener('error', done, {once: true});
  });
  await Promise.race([Promise.all(images.map(loaded)), new Promise(done => setTimeout(done, 10000))]);
  return images.filter(image => !image.complete || image.naturalWidth === 0).map(image => image.src);
}"""


def broken_images(page: Page) -> list[str]:
    """Loads every image (lazy ones too) and returns the URLs of those that failed to load."""
    broken: list[str] = page.evaluate(LOAD_IMAGES)
    return broken


def screenshot(page: Page, name: str) -> Path:
    """Full page PNG as .cache/ui-screenshots/<name>-desktop.png or -phone.png, lazy images loaded."""
    broken_images(page)
    size = page.viewport_size
    device = "phone" if size is not None and size["width"] < PHONE_MAX_WIDTH else "desktop"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{device}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scroll)."""
    excess: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return excess


UNNAMED_CONTROLS = """() => {
  const named = (el) => {
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const by = el.getAttribute('aria-labelledby');
    const text = (id) => (document.getElementById(id)?.textContent || '').trim();
    if (by && by.split(/\\s+/).some(text)) return true;
    if ([...(el.labels || [])].some(label => label.textContent.trim())) return true;
    return ['submit', 'button', 'reset'].includes(el.type) && (el.value || '').trim() !== '';
  };
  return [...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.type !== 'hidden' && !named(el))
    .map(el => el.outerHTML.slice(0, 200));
}"""


def unnamed_controls(page: Page) -> list[str]:
    """Form controls without an accessible name (no label, aria-label or aria-labelledby)."""
    found: list[str] = page.evaluate(UNNAMED_CONTROLS)
    return found


def focused(page: Page) -> dict[str, str]:
    """The focused element: tag, name, class, text and whether its focus ring shows."""
    state: dict[str, str] = page.evaluate("""() => {
      const el = document.activeElement, style = getComputedStyle(el);
      return {tag: el.tagName.toLowerCase(), name: el.getAttribute('name') || '',
              cls: el.className || '', text: (el.textContent || '').trim().slice(0, 80),
              ring: String(style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
                           || style.boxShadow !== 'none')};
    }""")
    return state
