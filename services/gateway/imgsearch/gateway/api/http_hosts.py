"""DNS-rebinding guard for a gateway that listens on loopback with auth off: a web page whose domain was
re-pointed at 127.0.0.1 is same-origin to the browser, so only the Host header tells it apart. Such a
gateway answers only requests that name a loopback host (or one of IMGSEARCH_HTTP__ALLOWED_HOSTS)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.responses import JSONResponse, Response
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from imgsearch.gateway.auth import is_loopback
from imgsearch.gateway.ui.render import Pages, is_ui_path

MESSAGE = ("this gateway listens on loopback without authentication, so it answers only requests to a "
           "loopback host name; add this host to IMGSEARCH_HTTP__ALLOWED_HOSTS or turn authentication on")


def host_name(header: str) -> str:
    """The host of a Host header, without its port: 'localhost:8080' -> 'localhost', '[::1]:80' -> '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class LoopbackHostGuard:
    def __init__(self, app: ASGIApp, pages: Pages, allowed_hosts: Sequence[str] = ()) -> None:
        self.app = app
        self.pages = pages
        self.allowed = {h.strip().lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            host = host_name(request.headers.get("host", ""))
            if not (is_loopback(host) or host in self.allowed):
                response: Response
                if is_ui_path(request.url.path):
                    response = self.pages.error(request, 403, "Forbidden", MESSAGE)
                else:
                    response = JSONResponse({"error": "Forbidden", "message": MESSAGE}, status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
