"""UI pages /import, /import/sessions/{session_id}: choose folders, follow sessions."""

from __future__ import annotations

from fastapi import APIRouter

from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.render import Pages


def import_pages(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    return router
