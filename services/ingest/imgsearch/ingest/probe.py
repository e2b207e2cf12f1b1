"""Open one file with Pillow, refuse what is not a safe, whole image, and read its metadata.

One decode serves validation and the thumbnail: the image is decoded fully (truncation shows up
only there), JPEGs in draft mode at about the preview size — libjpeg still reads every scan, so a
cut-off file fails, but a 75 MP photo decodes at 1/8 scale in a few milliseconds. Other formats
decode at full size, and the preview is reduced right after, so no full-size copy outlives probe().

Errors: a file's own problem is BadImage (recorded, skipped until it changes); a transient system
error (out of file descriptors or memory, I/O error) is Unavailable, so the command is retried.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, IptcImagePlugin, UnidentifiedImageError

from imgsearch.common import imaging
from imgsearch.common.errors import BadImage, Unavailable
from imgsearch.ingest import exif
from imgsearch.ingest.thumbnails import to_rgb

_PIXELS = re.compile(r"\((\d+) pixels\)")


@dataclass(frozen=True)
class ProbeLimits:
    max_image_pixels: int
    max_file_bytes: int
    preview_size: int  # the thumbnail's size: the preview is reduced to no less than this


@dataclass(frozen=True)
class ImageInfo:
    """What is stored and published about an image (no pixels)."""

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


@dataclass(frozen=True)
class ProbedImage(ImageInfo):
    # Upright, reduced first frame: long side under 4 × preview_size (JPEG: short side at least
    # preview_size) when the source is larger. Only for the thumbnail: drop it once that is written.
    preview: Image.Image = field(repr=False, compare=False)

    def info(self) -> ImageInfo:
        return ImageInfo(**{f.name: getattr(self, f.name) for f in fields(ImageInfo)})


def probe(path: Path, limits: ProbeLimits) -> ProbedImage:
    """Validate and read one file; a problem of the file raises BadImage with a short reason, a
    transient system error Unavailable."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise_if_transient(exc, "cannot stat file")
        raise BadImage(f"cannot stat file: {exc.strerror or exc}") from exc
    size = stat.st_size
    if size == 0:
        raise BadImage("empty file")
    if size > limits.max_file_bytes:
        raise BadImage(f"file too large: {size} bytes > {limits.max_file_bytes}")
    try:
        with Image.open(path) as img:
            return _read(img, limits, file_time(stat.st_mtime_ns))
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
        raise BadImage("out of memory while decoding: too large for this machine") from exc
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, struct.error, ...
        raise_if_transient(exc, "cannot read file")
        raise BadImage(reason_of(exc)) from exc


def raise_if_transient(exc: BaseException, doing: str) -> None:
    """Raise Unavailable (retry the command later) when exc is a passing system condition; Pillow's
    decode errors are OSErrors without an errno and stay BadImage."""
    if imaging.transient_os_error(exc):
        raise Unavailable(f"{doing}: {exc!r}") from exc


def reason_of(exc: BaseException) -> str:
    message = str(exc).strip() or type(exc).__name__
    if "truncated" in message.lower():
        return f"truncated image data ({message})"[:300]
    return f"{type(exc).__name__}: {message}"[:300]


def file_time(mtime_ns: int) -> exif.CaptureTime | None:
    """The last fallback for taken_at: the file's modification time (None for an unset 1970 clock)."""
    if mtime_ns <= 0:
        return None
    return exif.CaptureTime(datetime.fromtimestamp(mtime_ns / 1e9, UTC), "file:mtime")


def _read(img: Image.Image, limits: ProbeLimits, fallback_time: exif.CaptureTime | None) -> ProbedImage:
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
    captured = exif.capture_time(ifd0, exif_ifd, gps_ifd=gps_ifd, iptc=_iptc(img)) or fallback_time
    position = exif.gps(gps_ifd)
    make, model = exif.camera(ifd0)
    preview = _reduced(img, limits.preview_size)  # a new image: the file's full-size pixels go
    if orientation != 1:
        preview = imaging.upright(preview, orientation)
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


def _reduced(img: Image.Image, size: int) -> Image.Image:
    """A copy shrunk by a whole factor while its long side stays at least 2 × size: the step
    ``Image.thumbnail(reducing_gap=2.0)`` takes first, so the thumbnail looks the same."""
    factor = max(img.size) // (2 * size)
    if factor < 2:
        return img.copy()
    if img.mode in ("1", "P", "PA") or img.mode.startswith("I;16"):  # reduce() cannot average these
        img = to_rgb(img)
    return img.reduce(factor)


def _exif_blocks(img: Image.Image) -> tuple[Mapping[int, Any], Mapping[int, Any], Mapping[int, Any]]:
    """IFD0, the Exif IFD and the GPS IFD; empty mappings where EXIF is missing or unparsable."""
    ifd0 = imaging.read_exif(img)
    if not isinstance(ifd0, Image.Exif):  # corrupt EXIF: the pixels may still be fine
        return {}, {}, {}
    return ifd0, _sub_ifd(ifd0, exif.EXIF_IFD), _sub_ifd(ifd0, exif.GPS_IFD)


def _iptc(img: Image.Image) -> Mapping[tuple[int, int], Any]:
    """IPTC records of a JPEG or TIFF (for DateCreated); empty when absent or unparsable."""
    try:
        records = IptcImagePlugin.getiptcinfo(img)  # type: ignore[arg-type]
    except Exception:
        return {}
    return records if isinstance(records, Mapping) else {}


def _sub_ifd(ifd0: Image.Exif, tag: int) -> Mapping[int, Any]:
    try:
        block = ifd0.get_ifd(tag)
    except Exception:
        return {}
    return block if isinstance(block, Mapping) else {}
