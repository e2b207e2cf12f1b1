"""Decode a photo for the model: RGB, EXIF-upright, and no bigger than the model's transform needs.

Big JPEGs are decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself (Pillow draft mode), which is several
times faster than a full decode; other formats are box-reduced by an integer factor after decoding.
Either way the shorter side stays >= ``size``, so the model's own resize + crop sees enough pixels."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from imgsearch.common import imaging
from imgsearch.common.errors import BadImage, Unavailable

DEFAULT_MAX_PIXELS = 200_000_000  # same default as IMGSEARCH_INGEST__MAX_IMAGE_PIXELS


def decode_image(path: Path, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """RGB image whose shorter side is >= size (unless the original is smaller). Raises BadImage."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise BadImage(f"{width}x{height} pixels is over the limit of {max_pixels}")
            if image.format == "JPEG":
                image.draft("RGB", _draft_request(width, height, size))
            image.load()
            upright = imaging.upright(image, imaging.orientation(imaging.read_exif(image)))
            # RGB before reducing: Image.reduce does not take palette images (GIF, some PNGs)
            return _reduce(imaging.to_rgb(upright), size)
    except BadImage:
        raise
    except FileNotFoundError:
        raise BadImage("file not found") from None
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, DecompressionBomb*, ...
        if imaging.transient_os_error(exc):  # out of file handles, NFS hiccup: not the file's fault
            raise Unavailable(f"cannot read {path.name} now: {exc}") from None
        raise BadImage(_reason(exc)) from None


def _draft_request(width: int, height: int, size: int) -> tuple[int, int]:
    """Draft keeps both sides >= the request: ask for the aspect-correct size whose shorter side is size."""
    if width <= height:
        return size, max(size, round(height * size / max(width, 1)))
    return max(size, round(width * size / max(height, 1))), size


def _reduce(image: Image.Image, size: int) -> Image.Image:
    factor = min(image.size) // size
    return image.reduce(factor) if factor >= 2 else image


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"cannot decode image: {text[:200]}"
