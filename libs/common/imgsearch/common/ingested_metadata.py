"""An image's metadata as the ImageIngested event carries it (for embed's payload and subscribers): one
builder for the ingest service and for reconcile's re-published events."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from imgsearch.common.cameras import camera_name
from imgsearch.events.v1.events_pb2 import ImageIngested


class ImageMetadata(Protocol):
    """What the event carries beyond the file: ingest's probed ImageInfo, reconcile's IngestedImage."""

    @property
    def taken_at(self) -> datetime | None: ...
    @property
    def taken_at_source(self) -> str | None: ...
    @property
    def gps_lat(self) -> float | None: ...
    @property
    def gps_lon(self) -> float | None: ...
    @property
    def camera_make(self) -> str | None: ...
    @property
    def camera_model(self) -> str | None: ...


def add_metadata(event: ImageIngested, image: ImageMetadata) -> None:
    """taken_at with its source, the GPS position (already validated by probe) and the camera name."""
    if image.taken_at is not None:
        event.taken_at.FromDatetime(image.taken_at)
        event.taken_at_source = image.taken_at_source or ""
    if image.gps_lat is not None and image.gps_lon is not None:
        event.location.lat, event.location.lon = image.gps_lat, image.gps_lon
    event.camera = camera_name(image.camera_make, image.camera_model) or ""
