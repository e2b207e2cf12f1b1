"""REST for photo metadata: the GPS-radius and camera search filters, and GET /api/v1/cameras."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from imgsearch.common.errors import InvalidInput
from imgsearch.common.vectors.port import GeoCircle
from imgsearch.gateway.paging import DEFAULT_PAGE, MAX_OFFSET, MAX_PAGE
from imgsearch.gateway.service import Gateway
from imgsearch.search.domain import MAX_CAMERA_CHARS, check_camera, check_near


@dataclass(frozen=True)
class MetadataFilters:
    near: GeoCircle | None
    camera: str | None


def metadata_filters(
    near: Annotated[str | None, Query(
        max_length=100, description="'<lat>,<lon>' in decimal degrees: photos taken within radius_km of it",
        examples=["43.4674,11.8851"],
    )] = None,
    radius_km: Annotated[float | None, Query(
        description="radius around near, in km (0 < radius_km <= 20000); required with near",
    )] = None,
    camera: Annotated[str | None, Query(
        max_length=MAX_CAMERA_CHARS, description="camera name exactly as GET /api/v1/cameras lists it",
    )] = None,
) -> MetadataFilters:
    """InvalidInput (400) for a malformed position, a radius without near or near without a radius."""
    if (near is None) != (radius_km is None):
        raise InvalidInput("near and radius_km go together: give both or neither")
    circle = None
    if near is not None and radius_km is not None:
        lat, lon = _position(near)
        circle = check_near(lat, lon, radius_km)
    return MetadataFilters(near=circle, camera=check_camera(camera or ""))


Metadata = Annotated[MetadataFilters, Depends(metadata_filters)]


class Camera(BaseModel):
    camera: str
    images: int


class Cameras(BaseModel):
    cameras: list[Camera]
    total: int = Field(description="cameras in the library, whatever the page")


def metadata_routes(gateway: Gateway, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/cameras", response_model=Cameras, responses=errors, tags=["search"])
    async def cameras(
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="cameras per page")] = DEFAULT_PAGE,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="cameras to skip")] = 0,
    ) -> Cameras:
        """The cameras with how many images each took, most first: the values the camera filter takes."""
        page = await gateway.camera_page(limit, offset)
        return Cameras(cameras=[Camera(camera=c.camera, images=c.images) for c in page.items],
                       total=page.total)

    return router


def _position(near: str) -> tuple[float, float]:
    parts = near.split(",")
    try:
        lat, lon = (float(part) for part in parts)
    except ValueError:
        raise InvalidInput(f"near must be '<lat>,<lon>' in decimal degrees (got {near!r})") from None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise InvalidInput(f"near must be finite numbers (got {near!r})")
    return lat, lon
