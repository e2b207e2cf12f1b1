"""How useful a detected face is for recognition: pose from landmarks, sharpness of the aligned chip,
and one quality figure in 0..1 that ranks faces (cover faces, which faces seed a person).

    quality = score^0.2 · size^0.3 · sharp^0.25 · frontal^0.25 · (0.85 if the box touches the frame)
    size    = min(1, shorter box side / 100 px)
    sharp   = 1 - exp(-sharpness / 40)   sharpness = variance of the 4-neighbour Laplacian of the grey
                                         chip at 112 px (LFW photos ≈ 35–160; Gaussian blur σ=2 ≈ 4)
    frontal = max(0, cos yaw) · max(0, cos pitch)

Pose is a rough geometric estimate (degrees), not a head-pose model: roll is the angle of the eye line
(positive: the image-right eye is lower); yaw comes from the nose's sideways offset from the eye
midpoint, in eye distances, as atan(offset / nose depth) (positive: nose towards image right); pitch
from how far below the eye line the nose sits compared with a frontal face (positive: looking down).
The landmark sets differ (InsightFace marks the nose tip, dlib the bottom of the nose), so the
frontal reference depends on whether mouth corners were marked (InsightFace) or not (dlib)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from imgsearch.faces.backends.port import DetectedFace

SIZE_SATURATION_PX = 100.0
SHARPNESS_SCALE = 40.0
SHARPNESS_SIDE = 112
CUT_BY_FRAME = 0.85
WEIGHTS = {"score": 0.2, "size": 0.3, "sharp": 0.25, "frontal": 0.25}
# (nose depth, nose drop below the eye line of a frontal face), both in eye distances
NOSE_TIP = (0.5, 0.57)  # ArcFace template: nose 20.0 px below eyes 35.2 px apart
NOSE_BOTTOM = (0.35, 0.75)  # dlib 5-point: median over LFW


@dataclass(frozen=True)
class FaceQuality:
    quality: float  # 0..1
    sharpness: float  # Laplacian variance (unbounded)
    yaw: float  # degrees
    pitch: float
    roll: float


def assess(face: DetectedFace, image_size: tuple[int, int]) -> FaceQuality:
    """image_size: (width, height) of the image the box refers to: a box that reaches the frame is
    probably a face cut off by it, with less reliable landmarks and embedding."""
    yaw, pitch, roll = pose(face)
    sharp = sharpness(face.chip)
    x1, y1, x2, y2 = face.box
    side = max(0, min(x2 - x1, y2 - y1))
    terms = {
        "score": min(max(face.score, 0.0), 1.0),
        "size": min(1.0, side / SIZE_SATURATION_PX),
        "sharp": 1.0 - math.exp(-sharp / SHARPNESS_SCALE),
        "frontal": max(0.0, math.cos(math.radians(yaw))) * max(0.0, math.cos(math.radians(pitch))),
    }
    if min(terms.values()) <= 0.0:
        quality = 0.0
    else:
        quality = math.exp(sum(WEIGHTS[name] * math.log(value) for name, value in terms.items()))
    width, height = image_size
    if x1 <= 0 or y1 <= 0 or x2 >= width or y2 >= height:
        quality *= CUT_BY_FRAME
    return FaceQuality(quality=min(1.0, quality), sharpness=sharp, yaw=yaw, pitch=pitch, roll=roll)


def pose(face: DetectedFace) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the eye centres and the nose."""
    left, right = np.asarray(face.eyes[0], dtype=np.float64), np.asarray(face.eyes[1], dtype=np.float64)
    across = right - left
    distance = float(np.linalg.norm(across))
    if distance < 1e-6:
        return 0.0, 0.0, 0.0
    along = across / distance
    down = np.array([-along[1], along[0]])
    offset = np.asarray(face.nose, dtype=np.float64) - (left + right) / 2
    depth, frontal_drop = NOSE_TIP if face.mouth is not None else NOSE_BOTTOM
    yaw = math.degrees(math.atan(float(offset @ along) / distance / depth))
    pitch = math.degrees(math.atan((float(offset @ down) / distance - frontal_drop) / depth))
    roll = math.degrees(math.atan2(along[1], along[0]))
    return yaw, pitch, roll


def sharpness(chip: np.ndarray) -> float:
    """Variance of the Laplacian of the grey chip resized to 112 px (chips differ in size per backend)."""
    grey = Image.fromarray(np.asarray(chip, dtype=np.uint8)).convert("L")
    if grey.size != (SHARPNESS_SIDE, SHARPNESS_SIDE):
        grey = grey.resize((SHARPNESS_SIDE, SHARPNESS_SIDE), Image.Resampling.BILINEAR)
    g = np.asarray(grey, dtype=np.float64)
    if min(g.shape) < 3:
        return 0.0
    laplacian = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(laplacian.var())
