"""Pillow set-up and EXIF orientation, shared by ingest (validation, thumbnails) and embed (model input),
so that both see the same upright picture. Only services that install Pillow import this module."""

from __future__ import annotations

import errno
import threading
from collections.abc import Mapping
from typing import Any

from PIL import Image

ORIENTATION_TAG = 0x0112
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_configure_lock = threading.Lock()
_heif_registered = False


def configure_decoders(max_image_pixels: int) -> None:
    """Process-wide Pillow setup, called by a service at start (never at import).

    Pillow's own bomb check runs inside ``Image.open`` on the header alone: setting it to our limit
    makes a 30000² PNG fail there, before any pixel buffer exists. HEIF/HEIC needs pillow-heif,
    which is optional: without it such files fail as unrecognised.
    """
    global _heif_registered
    with _configure_lock:
        Image.MAX_IMAGE_PIXELS = max_image_pixels
        if not _heif_registered:
            try:
                from pillow_heif import register_heif_opener
            except ImportError:
                pass
            else:
                register_heif_opener()
            _heif_registered = True


def orientation(ifd0: Mapping[int, Any]) -> int:
    """EXIF orientation 1–8; anything else (0, missing, garbage) means upright."""
    value = ifd0.get(ORIENTATION_TAG)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def read_exif(image: Image.Image) -> Mapping[int, Any]:
    """IFD0, or an empty mapping when EXIF is missing or too corrupt to parse (the pixels may be fine)."""
    try:
        return image.getexif()
    except Exception:
        return {}


def upright(image: Image.Image, orientation_value: int) -> Image.Image:
    """The picture as the camera meant it: EXIF orientation applied (a new image, or the same one)."""
    method = TRANSPOSE.get(orientation_value)
    return image.transpose(method) if method is not None else image


# errno values that say "the system is struggling", not "this file is bad": retry, don't condemn.
_TRANSIENT_ERRNOS = frozenset({
    errno.EMFILE, errno.ENFILE, errno.EIO, errno.ESTALE, errno.EAGAIN, errno.EINTR, errno.ENOMEM,
    errno.ETIMEDOUT,
})


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB for the models: transparent areas on white (not whatever colour the invisible pixels hold),
    16-bit greys scaled down to 8 bits."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB")


def transient_os_error(exc: BaseException) -> bool:
    """True for errors that a retry may cure (out of file handles, NFS hiccups).

    MemoryError is not one: a picture too big for this machine fails the same way every time, and
    retrying it would hold up every file queued behind it. It becomes that file's failure reason."""
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS
