"""REST authentication: an ASGI middleware in front of every route, and CORS from the settings.

A request is authenticated by ``Authorization: Bearer <key>``, ``X-API-Key: <key>`` or the UI's session
cookie. Without one, a UI page answers 303 to /login and everything else 401 (WWW-Authenticate: Bearer).
A state-changing request that rides on the cookie must come from this gateway's own pages (or a CORS
origin from the settings): a cross-site form cannot act with the user's session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgsearch.common.db.outage import as_unavailable
from imgsearch.gateway.auth import CREATE_KEY_HINT, SESSION_COOKIE, Authenticator, presented_key
from imgsearch.gateway.ui.render import Pages, is_ui_path

OPEN_PATHS = ("/healthz", "/readyz", "/login")  # no credentials needed (probes, the sign-in page)
LOGIN_API = "/api/v1/auth/login"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MISSING = (
    "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' ("
    + CREATE_KEY_HINT + ")"
)
CROSS_SITE = "cross-site request refused: this form or call must come from the gateway's own pages"
DEFAULT_PORTS = {"http": "80", "https": "443"}
# A sign-in sends a key (<= 200 characters) and a page to go back to (<= 2000): the open POSTs read no
# more than this, so nobody without a key can make the gateway hold a huge body in memory.
MAX_OPEN_BODY = 16 * 1024
TOO_LARGE = f"the request body is larger than {MAX_OPEN_BODY} bytes (a sign-in sends an API key)"


def install_auth(app: FastAPI, auth: Authenticator | None, pages: Pages, cors_origins: Sequence[str]) -> None:
    """Auth (when on) inside CORS: a preflight is answered without credentials, and a 401 still carries
    the CORS headers a browser needs to read it."""
    if auth is not None and auth.enabled:
        app.add_middleware(AuthMiddleware, auth=auth, pages=pages, trusted_origins=tuple(cors_origins))
        _document(app)
    else:  # nobody signs in, but another site's page still must not post forms to a local gateway
        app.add_middleware(CrossSiteGuard, pages=pages, trusted_origins=tuple(cors_origins))
    if cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=list(cors_origins), allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )


class AuthMiddleware:
    def __init__(self, app: ASGIApp, auth: Authenticator, pages: Pages,
                 trusted_origins: Sequence[str] = ()) -> None:
        self.app = app
        self.auth = auth
        self.pages = pages
        self.trusted = {_origin(o) for o in trusted_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            refusal = await self._check(request)
        except Exception as exc:
            outage = as_unavailable(exc)
            if outage is None:
                raise
            refusal = self._refuse(request, 503, outage.kind, outage.message)
        method = request.method
        if refusal is None and _is_open(request.url.path, method) and method not in SAFE_METHODS:
            receive, fits = await _capped(request, receive, MAX_OPEN_BODY)
            if not fits:
                refusal = self._refuse(request, 413, "InvalidInput", TOO_LARGE)
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)

    async def _check(self, request: Request) -> Response | None:
        """None lets the request through (request.state.principal set when there was a credential)."""
        path, method = request.url.path, request.method
        if _is_open(path, method):
            if method not in SAFE_METHODS and self._foreign(request):  # no signing in from another site
                return self._cross_site(request)
            return None
        key = _key(request)
        if key is not None:
            principal = await self.auth.for_key(key)
            if principal is None:
                return self._unauthenticated(request, "the API key is not valid (unknown or revoked)")
            request.state.principal = principal
            return None
        token = request.cookies.get(SESSION_COOKIE)
        session = await self.auth.for_session(token) if token else None
        if session is not None:
            if method not in SAFE_METHODS and self._foreign(request):
                return self._cross_site(request)
            request.state.principal = session
            return None
        return self._unauthenticated(request, MISSING)

    def _unauthenticated(self, request: Request, message: str) -> Response:
        path = request.url.path
        if is_ui_path(path):  # a browser: to the sign-in page, and back here afterwards
            target = path + (f"?{request.url.query}" if request.url.query else "")
            if request.method not in ("GET", "HEAD"):  # a form sent after the session ended
                return RedirectResponse("/login", status_code=303)
            return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
        return JSONResponse({"error": "Unauthenticated", "message": message}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    def _cross_site(self, request: Request) -> Response:
        return self._refuse(request, 403, "Forbidden", CROSS_SITE)

    def _refuse(self, request: Request, status: int, kind: str, message: str) -> Response:
        if is_ui_path(request.url.path):
            return self.pages.error(request, status, kind, message)
        return JSONResponse({"error": kind, "message": message}, status_code=status)

    def _foreign(self, request: Request) -> bool:
        """The request names another site as its origin (Origin, else Referer). Neither: not foreign
        (SameSite=Strict keeps the cookie off cross-site requests in every current browser)."""
        source = request.headers.get("origin") or request.headers.get("referer")
        if not source:
            return False
        if source.strip() == "null":
            return True
        origin = _origin(source)
        if origin in self.trusted:
            return False
        netloc = origin.split("://", 1)[-1]
        scheme = request.url.scheme
        hosts = {_netloc(scheme, request.headers.get(h, "")) for h in ("host", "x-forwarded-host")}
        return netloc == "" or netloc not in hosts


class CrossSiteGuard(AuthMiddleware):
    """Auth off: every call is taken without a key, except a state-changing one that a browser says comes
    from another site (Origin / Referer): a page on the web cannot import, cancel or merge through a
    gateway on the user's machine. Scripts and the CLI send no Origin and are not affected."""

    def __init__(self, app: ASGIApp, pages: Pages, trusted_origins: Sequence[str] = ()) -> None:
        self.app = app
        self.pages = pages
        self.trusted = {_origin(o) for o in trusted_origins}

    async def _check(self, request: Request) -> Response | None:
        if request.method not in SAFE_METHODS and self._foreign(request):
            return self._cross_site(request)
        return None


def _document(app: FastAPI) -> None:
    """The OpenAPI says which credentials every operation takes (and /docs gets its Authorize button)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API key (isk_...)"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
            schema["security"] = [{"bearer": []}, {"apiKey": []}]
            for path, methods in schema.get("paths", {}).items():
                for method, operation in methods.items():
                    if _is_open(path, method.upper()):
                        operation["security"] = []
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _is_open(path: str, method: str) -> bool:
    return path in OPEN_PATHS or path.startswith("/static/") or (path == LOGIN_API and method == "POST")


async def _capped(request: Request, receive: Receive, limit: int) -> tuple[Receive, bool]:
    """(a receive that replays the body read here, whether the body is at most `limit` bytes): a
    Content-Length over the limit is refused unread, a body without one is read up to the limit."""
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        declared = 0
    if declared > limit:
        return receive, False
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > limit:
            return receive, False
        if not message.get("more_body", False):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay, True


def _key(request: Request) -> str | None:
    return presented_key(request.headers.get("authorization", ""), request.headers.get("x-api-key", ""))


def _origin(url: str) -> str:
    """scheme://host[:port], lower case, default port dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    return f"{scheme}://{_netloc(scheme, parts.netloc)}"


def _netloc(scheme: str, netloc: str) -> str:
    netloc = netloc.strip().lower().rsplit("@", 1)[-1]
    host, _, port = netloc.rpartition(":")
    if host and not host.endswith("]") and ":" in host:  # a bare IPv6 address: no port
        return netloc
    if host and port == DEFAULT_PORTS.get(scheme):
        return host
    return netloc
