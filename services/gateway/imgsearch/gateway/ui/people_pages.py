"""UI pages /people, /people/clusters, /people/{person_id}: review clusters, name and organise people."""

from __future__ import annotations

from fastapi import APIRouter

from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.render import Pages


def people_pages(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    return router
