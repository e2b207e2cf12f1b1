"""One photo in, its faces out: decode (EXIF-upright, RGB), detect and embed with the backend, assess
quality, write a crop per face. Blocking: the service runs it on a worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from imgsearch.common import imaging
from imgsearch.common.errors import BadImage, Unavailable
from imgsearch.common.ids import face_id
from imgsearch.faces.backends.port import DetectedFace, FaceBackend
from imgsearch.faces.crops import write_crop
from imgsearch.faces.quality import FaceQuality, assess


@dataclass(frozen=True)
class AnalyzedFace:
    face: DetectedFace
    quality: FaceQuality
    face_id: str
    crop_path: str  # relative to the crops folder


def analyze_image(path: Path, backend: FaceBackend, *, crops_dir: Path, crop_size: int, image_id: str,
                  max_pixels: int) -> list[AnalyzedFace]:
    """Raises BadImage (the file's fault: do not retry) or Unavailable (reading or writing failed for
    reasons a retry may cure)."""
    picture = load_rgb(path, max_pixels)
    pixels = np.asarray(picture)
    analyzed = []
    for face in backend.analyze(pixels):
        if not np.isfinite(face.embedding).all():  # a degenerate crop: it would poison clustering
            continue
        fid = face_id(image_id, backend.info.name, face.box)
        try:
            crop = write_crop(picture, face.box, crops_dir, fid, crop_size)
        except OSError as exc:  # our disk, not the photo: full, read-only, gone
            raise Unavailable(f"cannot write face crop to {crops_dir}: {exc}") from None
        analyzed.append(AnalyzedFace(face, assess(face, picture.size), fid, crop))
    return analyzed


def load_rgb(path: Path, max_pixels: int) -> Image.Image:
    """The photo as the camera meant it (EXIF orientation applied), RGB, full size."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise BadImage(f"{width}x{height} pixels is over the limit of {max_pixels}")
            image.load()
            return imaging.to_rgb(imaging.upright(image, imaging.orientation(imaging.read_exif(image))))
    except BadImage:
        raise
    except FileNotFoundError:
        raise BadImage("file not found") from None
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, DecompressionBomb*, ...
        if imaging.transient_os_error(exc):
            raise Unavailable(f"cannot read {path.name} now: {exc}") from None
        raise BadImage(f"cannot decode image: {(str(exc).strip() or type(exc).__name__)[:200]}") from None
