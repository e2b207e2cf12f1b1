"""REST sign-in for browsers: POST /api/v1/auth/login (key -> session cookie), POST /api/v1/auth/logout,
GET /api/v1/auth/me. Scripts send their key on every call instead (Authorization / X-API-Key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from imgsearch.common.errors import Conflict, Unauthenticated
from imgsearch.gateway.auth import SESSION_COOKIE, Authenticator, Principal

AUTH_OFF = "authentication is off on this gateway (IMGSEARCH_AUTH__MODE): no sign-in needed"


class LoginRequest(BaseModel):
    key: str = Field(min_length=1, max_length=200, description="an API key (isk_...)")


class Me(BaseModel):
    auth_enabled: bool = Field(description="false: the gateway takes every call without a key")
    key_id: int | None = Field(default=None, description="the API key this call is made with")
    name: str | None = Field(default=None, description="that key's name")
    via: str | None = Field(default=None, description="key (a header) or session (the UI's cookie)")

    @classmethod
    def of(cls, auth: Authenticator | None, principal: Principal | None) -> Me:
        enabled = auth is not None and auth.enabled
        if principal is None:
            return cls(auth_enabled=enabled)
        return cls(auth_enabled=enabled, key_id=principal.key_id, name=principal.name, via=principal.via)


def auth_routes(auth: Authenticator | None, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.post("/api/v1/auth/login", response_model=Me, responses=errors)
    async def login(body: LoginRequest, request: Request, response: Response) -> Me:
        """Sign in with an API key: sets the session cookie (HttpOnly, SameSite=Strict)."""
        if auth is None or not auth.enabled:
            raise Conflict(AUTH_OFF)
        signed_in = await auth.login(body.key)
        if signed_in is None:
            raise Unauthenticated("not a valid API key (unknown or revoked)")
        principal, token = signed_in
        set_session_cookie(response, request, token, auth.session_ttl_s)
        return Me.of(auth, principal)

    @router.post("/api/v1/auth/logout", status_code=204, responses=errors)
    async def logout(request: Request) -> Response:
        """End this browser's session (its cookie); an API key stays valid until it is revoked."""
        response = Response(status_code=204)
        await end_session(auth, request, response)
        return response

    @router.get("/api/v1/auth/me", response_model=Me, responses=errors)
    async def me(request: Request) -> Me:
        """Who this call is made as."""
        return Me.of(auth, getattr(request.state, "principal", None))

    return router


def set_session_cookie(response: Response, request: Request, token: str, ttl_s: float) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(ttl_s), path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )


async def end_session(auth: Authenticator | None, request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token and auth is not None:
        await auth.logout(token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
