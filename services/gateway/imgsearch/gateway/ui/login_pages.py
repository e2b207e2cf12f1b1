"""UI pages /login, /logout: sign in with an API key (session cookie)."""

from __future__ import annotations

from fastapi import APIRouter

from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.render import Pages


def login_pages(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    return router
