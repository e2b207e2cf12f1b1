"""Face thumbnails: a square around the face with some context, written once per face id."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

MARGIN = 0.25  # of the box's longer side, on each side
JPEG_QUALITY = 85


def crop_square(size: tuple[int, int], box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """A square around the box with MARGIN, moved (not squashed) to lie inside an image of `size`."""
    width, height = size
    x1, y1, x2, y2 = box
    side = round(max(x2 - x1, y2 - y1) * (1 + 2 * MARGIN))
    side = max(1, min(side, width, height))
    left = round((x1 + x2) / 2 - side / 2)
    top = round((y1 + y2) / 2 - side / 2)
    left = min(max(left, 0), width - side)
    top = min(max(top, 0), height - side)
    return left, top, left + side, top + side


def crop_relpath(face_id: str) -> str:
    return f"{face_id[:2]}/{face_id}.jpg"


def write_crop(image: np.ndarray | Image.Image, box: tuple[int, int, int, int], out_dir: Path, face_id: str,
               size: int) -> str:
    """Write out_dir/<face_id[:2]>/<face_id>.jpg (atomically: readers never see half a file) and
    return that path relative to out_dir."""
    picture = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    crop = picture.crop(crop_square(picture.size, box)).convert("RGB")
    crop = crop.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    relpath = crop_relpath(face_id)
    target = out_dir / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{face_id}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            crop.save(out, format="JPEG", quality=JPEG_QUALITY)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return relpath
