"""UI pages / and /photos/{image_id}: search with filters, result grid, photo detail."""

from __future__ import annotations

from fastapi import APIRouter

from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.render import Pages


def search_pages(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    return router
