"""All UI routes: each page family is its own module with a `*_pages(gateway, pages) -> APIRouter`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.import_pages import import_pages
from imgsearch.gateway.ui.login_pages import login_pages
from imgsearch.gateway.ui.people_pages import people_pages
from imgsearch.gateway.ui.render import STATIC_DIR, Pages
from imgsearch.gateway.ui.search_pages import search_pages
from imgsearch.gateway.ui.system_pages import system_pages


def install_ui(app: FastAPI, gateway: Gateway, pages: Pages) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(ui_routes(gateway, pages))


def ui_routes(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for family in (login_pages, search_pages, people_pages, import_pages, system_pages):
        router.include_router(family(gateway, pages))
    return router
