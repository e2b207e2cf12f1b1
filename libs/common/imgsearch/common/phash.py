"""Perceptual hashes for near-duplicate detection: a 64-bit DCT hash of the whole picture, plus hashes of
square windows along its long side, so a square crop of a photo (with or without a colour change) still
lands near its original.

Computed from pixels (Pillow): by ingest from the upright preview, by reconcile from the thumbnail of an
image ingested before hashes existed. Import it where Pillow is installed (not in the gateway's set).
How two sets of hashes are compared: imgsearch.common.perceptual.distance.
"""

from __future__ import annotations

import logging
from functools import cache

import numpy as np
from PIL import Image

from imgsearch.common import imaging
from imgsearch.common.perceptual import PerceptualHashes

log = logging.getLogger(__name__)

HASH_SIDE = 8  # 8 x 8 low frequencies: 64 bits
_SAMPLE_SIDE = 32  # the grey picture is shrunk to this before the DCT
WINDOW_OFFSETS = (0.0, 0.25, 0.5, 0.75, 1.0)  # of the slack along the long side
MIN_WINDOW_SLACK = 0.05  # a nearly square picture has no windows: they would all be the full picture


def perceptual_hashes(image: Image.Image) -> PerceptualHashes | None:
    """hash_image, or None (logged) for pixels it cannot take: the image is still ingested, only not
    compared for near duplicates."""
    try:
        return hash_image(image)
    except (ValueError, TypeError, OSError, MemoryError) as exc:
        log.warning("no perceptual hash for a %s %dx%d picture: %r", image.mode, *image.size, exc)
        return None


def hash_image(image: Image.Image) -> PerceptualHashes:
    """The hashes of an upright picture (any Pillow mode; transparency on white)."""
    grey = imaging.to_rgb(image).convert("L")
    width, height = grey.size
    side = min(width, height)
    slack = max(width, height) - side
    windows: list[int] = []
    if side > 0 and slack > MIN_WINDOW_SLACK * side:
        for offset in WINDOW_OFFSETS:
            start = round(offset * slack)
            box = (start, 0, start + side, side) if width > height else (0, start, side, start + side)
            windows.append(_dct_hash(grey.crop(box)))
    return PerceptualHashes(_dct_hash(grey), tuple(windows))


def _dct_hash(grey: Image.Image) -> int:
    small = grey.resize((_SAMPLE_SIDE, _SAMPLE_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    basis = _dct_basis()
    low = (basis @ pixels @ basis.T).ravel()  # the top-left 8 x 8 of the 2-D DCT-II
    median = np.median(low[1:])  # without the DC term: it only says how bright the picture is
    value = 0
    for bit in low > median:
        value = (value << 1) | int(bit)
    return value


@cache
def _dct_basis() -> np.ndarray:
    """The first HASH_SIDE rows of the orthonormal DCT-II matrix of size _SAMPLE_SIDE."""
    n = np.arange(_SAMPLE_SIDE)
    k = np.arange(HASH_SIDE)[:, None]
    basis: np.ndarray = np.sqrt(2 / _SAMPLE_SIDE) * np.cos(np.pi * (2 * n + 1) * k / (2 * _SAMPLE_SIDE))
    basis[0] /= np.sqrt(2)
    return basis
