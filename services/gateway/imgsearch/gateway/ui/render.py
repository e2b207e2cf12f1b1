"""Page rendering: one Jinja2 environment (autoescaped) over ui/templates, and the helpers pages share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
# Paths the UI owns (everything else is the API, health or static files): errors there render as pages.
UI_PREFIXES = ("/photos", "/people", "/import", "/system", "/login", "/logout")


def is_ui_path(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in UI_PREFIXES)


class Pages:
    """Renders templates; built once per app (no module-level state)."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir), autoescape=True, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True,
        )
        self.env.filters["filesize"] = filesize
        self.env.filters["when"] = when
        self.env.globals["query"] = query

    def render(self, request: Request, template: str, context: Mapping[str, Any] | None = None,
               status: int = 200) -> HTMLResponse:
        """context gets `request`, `path` (the active nav item), `notice` (?notice=, after a redirect)."""
        values = {
            "request": request, "path": request.url.path,
            "notice": request.query_params.get("notice", "")[:300],
            "signed_in": bool(getattr(request.state, "principal", None)),
            **(context or {}),
        }
        html = self.env.get_template(template).render(values)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def error(self, request: Request, status: int, kind: str, message: str) -> HTMLResponse:
        return self.render(request, "error.html", {"status": status, "kind": kind, "message": message},
                           status=status)


@dataclass(frozen=True)
class Pager:
    """Previous / Next links of a paged list ("" on the first / last page) and the range shown."""

    offset: int
    limit: int
    total: int
    previous_url: str
    next_url: str

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)


def pager(offset: int, limit: int, total: int, url: Callable[[int], str]) -> Pager:
    """url(offset) is the address of the page starting at that offset."""
    previous = url(max(0, offset - limit)) if offset > 0 else ""
    following = url(offset + limit) if offset + limit < total else ""
    return Pager(offset, limit, total, previous, following)


MAX_NEXT = 2000


def local_path(target: str | None) -> str:
    """Where to go after signing in (or after a form): a path on this site, never another site
    ('//host', '/\\host', 'https://...'), else '/'."""
    if (not target or len(target) > MAX_NEXT or not target.startswith("/") or target[1:2] in ("/", "\\")
            or any(ch < " " or ch == "\x7f" for ch in target)):
        return "/"
    return target


def redirect(url: str, notice: str = "") -> RedirectResponse:
    """After a form POST (303: the browser GETs the page; reloading it does not repeat the action)."""
    if notice:
        url += ("&" if "?" in url else "?") + urlencode({"notice": notice})
    return RedirectResponse(url, status_code=303)


def query(base: str, **params: Any) -> str:
    """A URL with parameters; None / "" values are left out, lists repeat the key."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None or value == "":
            continue
        if isinstance(value, list | tuple):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return base + ("?" + urlencode(pairs) if pairs else "")


def filesize(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""
