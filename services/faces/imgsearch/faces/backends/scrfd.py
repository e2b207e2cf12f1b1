"""SCRFD (InsightFace's face detector, det_10g.onnx in buffalo_l): input preparation and output decoding.

The network predicts, for every anchor of three feature maps (strides 8, 16 and 32, two anchors per
cell), a face probability, the distances from the anchor centre to the four box sides and the offsets
of five landmarks, all in units of the stride. The picture is scaled to fit the input and padded at the
right and bottom ("letterbox"), normalised as (pixel - 127.5) / 128."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from imgsearch.faces.backends.geometry import nms

STRIDES = (8, 16, 32)
MEAN, STD = 127.5, 128.0
NMS_IOU = 0.4
MIN_THRESHOLD = 0.05  # below this every anchor is a "face": NMS over thousands of boxes, for nothing


@dataclass(frozen=True)
class Detections:
    """In pixels of the letterboxed input. boxes (N, 4) x1 y1 x2 y2; scores (N,); landmarks (N, 5, 2)."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray


def letterbox(image: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float]:
    """NCHW float32 input for the detector, and the factor from image pixels to input pixels."""
    rows, cols = image.shape[:2]
    scale = min(width / cols, height / rows)
    new_w, new_h = min(width, max(1, round(cols * scale))), min(height, max(1, round(rows * scale)))
    canvas = np.zeros((height, width, 3), dtype=np.float32)
    resized = Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BILINEAR)
    canvas[:new_h, :new_w] = np.asarray(resized, dtype=np.float32)
    blob = ((canvas - MEAN) / STD).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(blob), new_h / rows


def anchor_centres(height: int, width: int, stride: int, anchors: int) -> np.ndarray:
    """(rows * cols * anchors, 2) x, y centres in input pixels, row-major, each repeated per anchor."""
    ys, xs = np.mgrid[0:height // stride, 0:width // stride]
    centres = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
    return np.repeat(centres, anchors, axis=0)


def split_outputs(outputs: list[np.ndarray]) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(stride, scores, box distances, landmark offsets) per feature map.

    Outputs are told apart by their last dimension (1 score, 4 distances, 10 landmark offsets) and
    ordered by row count (the finest map has the most anchors), so the graph's output order and a
    leading batch dimension do not matter."""
    arrays = [np.asarray(out, dtype=np.float32) for out in outputs]
    arrays = [a.reshape(-1, a.shape[-1]) for a in arrays]
    groups = {width: sorted((a for a in arrays if a.shape[1] == width), key=lambda a: -a.shape[0])
              for width in (1, 4, 10)}
    if not (len(groups[1]) == len(groups[4]) == len(groups[10]) == len(STRIDES)):
        shapes = [a.shape for a in arrays]
        raise ValueError(f"not an SCRFD detector with landmarks (outputs {shapes})")
    return [(stride, groups[1][i][:, 0], groups[4][i], groups[10][i]) for i, stride in enumerate(STRIDES)]


def decode(outputs: list[np.ndarray], height: int, width: int, threshold: float) -> Detections:
    """Faces scoring >= threshold after non-maximum suppression, best first."""
    boxes, scores, landmarks = [], [], []
    for stride, score, distance, offsets in split_outputs(outputs):
        cells = (height // stride) * (width // stride)
        centres = anchor_centres(height, width, stride, max(1, score.shape[0] // max(cells, 1)))
        keep = np.nonzero(score >= threshold)[0]
        centre = centres[keep]
        dist = distance[keep] * stride
        boxes.append(np.hstack([centre - dist[:, :2], centre + dist[:, 2:]]))
        landmarks.append(centre[:, None, :] + offsets[keep].reshape(-1, 5, 2) * stride)
        scores.append(score[keep])
    all_boxes, all_scores = np.concatenate(boxes), np.concatenate(scores)
    kept = nms(all_boxes, all_scores, NMS_IOU)
    return Detections(all_boxes[kept], all_scores[kept], np.concatenate(landmarks)[kept])
