"""Image scaling and box arithmetic shared by both backends."""

from __future__ import annotations

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """A copy whose longest side is <= max_side (or the image itself), and the factor applied."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width, 1))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(small), scale


def to_full_size(x1: float, y1: float, x2: float, y2: float, scale: float, width: int, height: int) -> Box:
    """A box found on a copy scaled by `scale`, in pixels of the full-size image, clipped to it."""
    def clip(value: float, limit: int) -> int:
        return int(min(max(round(value / scale), 0), limit))

    return clip(x1, width), clip(y1, height), clip(x2, width), clip(y2, height)


def box_side(box: Box) -> int:
    """The shorter side: what "a face smaller than min_face_px" measures."""
    return min(box[2] - box[0], box[3] - box[1])


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression: indices kept, best score first. boxes: (N, 4) x1 y1 x2 y2."""
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    keep: list[int] = []
    while order.size:
        best, rest = int(order[0]), order[1:]
        keep.append(best)
        low = np.maximum(boxes[best, :2], boxes[rest, :2])
        high = np.minimum(boxes[best, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(high - low, 0, None), axis=1)
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return keep


def unit(vector: np.ndarray) -> np.ndarray:
    """float32 copy scaled to length 1 (a zero vector stays zero)."""
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
