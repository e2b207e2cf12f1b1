"""The one interface both face backends (dlib, InsightFace) implement, and the config they are built from.

A backend turns an upright RGB photo into faces: where they are, their landmarks, an identity
embedding and, when the models can tell, age and sex. Everything downstream (quality, crops,
matching, clustering) sees only these types."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from imgsearch.common.settings import Settings

Point = tuple[float, float]


@dataclass(frozen=True)
class BackendInfo:
    name: str  # "dlib" | "insightface"
    model: str  # recorded id, e.g. "dlib_face_recognition_resnet_model_v1" / "buffalo_l"
    dim: int  # 128 | 512
    detector: str  # "hog" | "cnn" | "scrfd"
    estimates_age: bool
    # what DetectedFace.landmarks holds, in order (the two landmark models mark different points):
    # "dlib5": image-right eye outer/inner corner, image-left eye outer/inner corner, bottom of the nose;
    # "arcface5": image-left eye, image-right eye, nose tip, image-left / image-right mouth corner.
    landmarks: str = "arcface5"
    device: str = "cpu"  # where inference runs: cpu | cuda


@dataclass(frozen=True)
class DetectedFace:
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 (x2, y2 exclusive) in the full-size upright image
    score: float  # detector confidence mapped to 0..1
    landmarks: np.ndarray  # (5, 2) float32, full-size image coords; order: BackendInfo.landmarks
    eyes: tuple[Point, Point]  # eye centres (image-left, image-right)
    nose: Point
    embedding: np.ndarray  # (dim,) float32, unit length
    age: float | None
    sex: str | None  # "F" | "M" | None
    chip: np.ndarray  # the aligned face crop the embedding was computed from, RGB uint8
    mouth: tuple[Point, Point] | None = None  # mouth corners (image-left, image-right) when marked


class FaceBackend(Protocol):
    info: BackendInfo

    def analyze(self, image: np.ndarray) -> list[DetectedFace]:
        """Faces in an RGB uint8 HxWx3 image (upright, full size), best detector score first."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BackendConfig:
    """What a backend needs from FacesSettings, with the models folder resolved."""

    models_dir: Path
    model_pack: str = "buffalo_l"
    device: str = "auto"  # auto | cpu | cuda
    dlib_detector: str = "hog"  # hog | cnn
    detect_max_side: int = 1600
    min_face_px: int = 32
    min_score: float = 0.5
    batch_size: int = 8
    det_size: int = 640  # SCRFD input side when the model takes any size (buffalo_l's det_10g does)

    @classmethod
    def from_settings(cls, settings: Settings) -> BackendConfig:
        faces = settings.faces
        return cls(
            models_dir=settings.face_models_dir, model_pack=faces.model_pack, device=faces.device,
            dlib_detector=faces.dlib_detector, detect_max_side=faces.detect_max_side,
            min_face_px=faces.min_face_px, min_score=faces.min_score, batch_size=max(1, faces.batch_size),
        )

    @property
    def pack_dir(self) -> Path:
        return self.models_dir / self.model_pack
