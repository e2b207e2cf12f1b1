"""UI pages /login, /logout: sign in with an API key (session cookie), sign out.

The authenticator is app.state.auth (None or disabled: authentication is off and nobody signs in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from imgsearch.gateway.api.http_auth_routes import end_session, set_session_cookie
from imgsearch.gateway.auth import Authenticator
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.render import Pages, local_path, redirect

WRONG_KEY = "That is not a valid API key (unknown or revoked)."


def login_pages(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_model=None)
    async def login_form(request: Request, next: str = "/") -> Response:
        target = local_path(next)
        if _auth(request) is None:
            return redirect(target, "Sign-in is not needed: authentication is off on this gateway")
        return _page(pages, request, target)

    @router.post("/login", response_model=None)
    async def login(
        request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/",
    ) -> Response:
        target = local_path(next)
        auth = _auth(request)
        if auth is None:
            return redirect(target)
        signed_in = await auth.login(key) if 0 < len(key) <= 200 else None
        if signed_in is None:
            return _page(pages, request, target, error=WRONG_KEY, status=401)
        _, token = signed_in
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(response, request, token, auth.session_ttl_s)
        return response

    @router.post("/logout", response_model=None)
    async def logout(request: Request) -> Response:
        response = redirect("/login", "Signed out")
        await end_session(_auth(request), request, response)
        return response

    return router


def _auth(request: Request) -> Authenticator | None:
    auth: Authenticator | None = getattr(request.app.state, "auth", None)
    return auth if auth is not None and auth.enabled else None


def _page(pages: Pages, request: Request, target: str, error: str = "", status: int = 200) -> HTMLResponse:
    return pages.render(request, "login.html", {"next": target, "error": error, "show_nav": False},
                        status=status)
