"""Open one file with Pillow, refuse what is not a safe, whole image, and read its metadata.

One decode serves validation and the thumbnail: the image is decoded fully (truncation shows up
only there), JPEGs in draft mode at about the preview size — libjpeg still reads every scan, so a
cut-off file fails, but a 75 MP photo decodes at 1/8 scale in a few milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from imgsearch.common import imaging
from imgsearch.common.errors import BadImage
from imgsearch.ingest import exif

_PIXELS = re.compile(r"\((\d+) pixels\)")


@dataclass(frozen=True)
class ProbeLimits:
    max_image_pixels: int
    max_file_bytes: int
    preview_size: int  # the decode is reduced (draft) to no less than this, for the thumbnail


@dataclass(frozen=True)
class ProbedImage:
    format: str
    width: int  # after EXIF orientation
    height: int
    orientation: int  # EXIF 1–8 (1 when absent or invalid)
    taken_at: datetime | None
    taken_at_source: str | None
    gps_lat: float | None
    gps_lon: float | None
    gps_alt: float | None
    camera_make: str | None
    camera_model: str | None
    # Upright, reduced first frame, at least preview_size on its short side when the source is.
    preview: Image.Image = field(repr=False, compare=False)


def probe(path: Path, limits: ProbeLimits) -> ProbedImage:
    """Validate and read one file; any problem raises BadImage with a short reason."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadImage(f"cannot stat file: {exc.strerror or exc}") from exc
    if size == 0:
        raise BadImage("empty file")
    if size > limits.max_file_bytes:
        raise BadImage(f"file too large: {size} bytes > {limits.max_file_bytes}")
    try:
        with Image.open(path) as img:
            return _read(img, limits)
    except BadImage:
        raise
    except Image.DecompressionBombError as exc:
        declared = _PIXELS.search(str(exc))
        raise BadImage(
            f"decompression bomb: {declared.group(1) if declared else 'too many'} pixels"
            f" > limit {limits.max_image_pixels}"
        ) from exc
    except UnidentifiedImageError as exc:
        raise BadImage("not a recognised image format") from exc
    except MemoryError as exc:
        raise BadImage("out of memory while decoding") from exc
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, struct.error, ...
        raise BadImage(reason_of(exc)) from exc


def reason_of(exc: BaseException) -> str:
    message = str(exc).strip() or type(exc).__name__
    if "truncated" in message.lower():
        return f"truncated image data ({message})"[:300]
    return f"{type(exc).__name__}: {message}"[:300]


def _read(img: Image.Image, limits: ProbeLimits) -> ProbedImage:
    width, height = img.size
    if width <= 0 or height <= 0:
        raise BadImage(f"invalid dimensions {width}x{height}")
    if width * height > limits.max_image_pixels:
        raise BadImage(f"decompression bomb: {width * height} pixels > limit {limits.max_image_pixels}")
    fmt = img.format or "UNKNOWN"
    img.draft(None, (limits.preview_size, limits.preview_size))  # no-op for non-JPEG
    # The full decode, before EXIF: PNG's getexif() loads the image itself and would swallow the
    # error of a truncated file into "no EXIF".
    img.load()
    ifd0, exif_ifd, gps_ifd = _exif_blocks(img)
    orientation = imaging.orientation(ifd0)
    captured = exif.capture_time(ifd0, exif_ifd)
    position = exif.gps(gps_ifd)
    make, model = exif.camera(ifd0)
    preview = imaging.upright(img, orientation) if orientation != 1 else img.copy()
    if orientation >= 5:  # 5–8 turn the picture a quarter: width and height swap
        width, height = height, width
    return ProbedImage(
        format=fmt, width=width, height=height, orientation=orientation,
        taken_at=captured.taken_at if captured else None,
        taken_at_source=captured.source if captured else None,
        gps_lat=position.lat if position else None, gps_lon=position.lon if position else None,
        gps_alt=position.alt if position else None,
        camera_make=make, camera_model=model, preview=preview,
    )


def _exif_blocks(img: Image.Image) -> tuple[Mapping[int, Any], Mapping[int, Any], Mapping[int, Any]]:
    """IFD0, the Exif IFD and the GPS IFD; empty mappings where EXIF is missing or unparsable."""
    ifd0 = imaging.read_exif(img)
    if not isinstance(ifd0, Image.Exif):  # corrupt EXIF: the pixels may still be fine
        return {}, {}, {}
    return ifd0, _sub_ifd(ifd0, exif.EXIF_IFD), _sub_ifd(ifd0, exif.GPS_IFD)


def _sub_ifd(ifd0: Image.Exif, tag: int) -> Mapping[int, Any]:
    try:
        block = ifd0.get_ifd(tag)
    except Exception:
        return {}
    return block if isinstance(block, Mapping) else {}
