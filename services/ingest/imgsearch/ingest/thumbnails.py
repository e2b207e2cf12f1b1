"""JPEG thumbnails at thumbnails_dir/<id[:2]>/<id>.jpg, written atomically (tmp file + rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

_QUALITY = 85


def thumbnail_path(thumbnails_dir: Path, image_id: str) -> Path:
    # Two-hex-digit fan-out keeps directories small on filesystems that slow down with 100k entries.
    return thumbnails_dir / image_id[:2] / f"{image_id}.jpg"


def write_thumbnail(preview: Image.Image, thumbnails_dir: Path, image_id: str, size: int) -> Path:
    """Write (or keep, when it exists: content-addressed) the thumbnail of an upright preview."""
    target = thumbnail_path(thumbnails_dir, image_id)
    if target.exists():
        return target
    image = to_rgb(preview)
    image.thumbnail((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{image_id}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            image.save(handle, "JPEG", quality=_QUALITY, optimize=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)  # readers see the old state or the whole file, never a partial one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency over white (not black), CMYK/16-bit/palette converted."""
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit/float greyscale: scale into 8 bits instead of clipping everything to white.
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    return image.convert("RGB")
