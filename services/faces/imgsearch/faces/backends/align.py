"""Face alignment for the ONNX models: a least-squares similarity transform onto the ArcFace template,
and a bilinear affine warp in numpy (same sampling as OpenCV's warpAffine: pixel centres at integer
coordinates, black outside the image), so the models see crops like the ones they were trained on."""

from __future__ import annotations

import numpy as np

# Where ArcFace-family recognisers expect the five points in a 112x112 crop: eye centres,
# nose tip, mouth corners (image-left before image-right). Published figures of the template.
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
ARCFACE_SIZE = 112


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 rotation + uniform scale + translation that maps src points onto dst, least squares.

    With p = (x, y) -> (a·x - b·y + tx, b·x + a·y + ty) the problem is linear in (a, b, tx, ty)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    rows = np.zeros((2 * len(src), 4))
    rows[0::2] = np.column_stack([src[:, 0], -src[:, 1], np.ones(len(src)), np.zeros(len(src))])
    rows[1::2] = np.column_stack([src[:, 1], src[:, 0], np.zeros(len(src)), np.ones(len(src))])
    (a, b, tx, ty), *_ = np.linalg.lstsq(rows, dst.reshape(-1), rcond=None)
    return np.array([[a, -b, tx], [b, a, ty]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    linear = np.linalg.inv(matrix[:, :2])
    return np.hstack([linear, -linear @ matrix[:, 2:]])


def warp(image: np.ndarray, out_to_in: np.ndarray, size: int) -> np.ndarray:
    """A size x size RGB uint8 crop: output pixel (u, v) samples the image at out_to_in @ (u, v, 1)."""
    grid_v, grid_u = np.mgrid[0:size, 0:size].astype(np.float64)
    xs = out_to_in[0, 0] * grid_u + out_to_in[0, 1] * grid_v + out_to_in[0, 2]
    ys = out_to_in[1, 0] * grid_u + out_to_in[1, 1] * grid_v + out_to_in[1, 2]
    x0, y0 = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]
    height, width = image.shape[:2]

    def sample(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        pixels: np.ndarray = image[np.clip(y, 0, height - 1), np.clip(x, 0, width - 1)].astype(np.float64)
        masked: np.ndarray = pixels * inside[..., None]
        return masked

    out: np.ndarray = (sample(x0, y0) * (1 - fx) * (1 - fy) + sample(x0 + 1, y0) * fx * (1 - fy)
                       + sample(x0, y0 + 1) * (1 - fx) * fy + sample(x0 + 1, y0 + 1) * fx * fy)
    crop: np.ndarray = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return crop


def arcface_chip(image: np.ndarray, landmarks: np.ndarray, size: int = ARCFACE_SIZE) -> np.ndarray:
    """The face turned upright and scaled so its five points sit on the template."""
    template = ARCFACE_TEMPLATE * (size / ARCFACE_SIZE)
    return warp(image, invert_affine(similarity(landmarks, template)), size)


def centred_square(image: np.ndarray, centre: tuple[float, float], side: float, size: int) -> np.ndarray:
    """An axis-aligned square of `side` pixels around `centre`, resized to size x size (black outside)."""
    step = side / size
    out_to_in = np.array([[step, 0.0, centre[0] - step * size / 2], [0.0, step, centre[1] - step * size / 2]])
    return warp(image, out_to_in, size)
