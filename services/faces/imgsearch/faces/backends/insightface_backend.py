"""InsightFace backend: the buffalo_l ONNX models run with onnxruntime (not the insightface package,
which pulls OpenCV and downloads models). SCRFD finds faces and five landmarks on a copy scaled to
the detector input; the landmarks, mapped to the full-size image, align a 112x112 ArcFace chip taken
from the full-size image; genderage (when present) reads age and sex from a 96x96 square crop."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgsearch.faces.backends import scrfd
from imgsearch.faces.backends.align import ARCFACE_SIZE, arcface_chip, centred_square
from imgsearch.faces.backends.geometry import box_side, downscale, to_full_size, unit
from imgsearch.faces.backends.pack import (
    identify,
    import_onnxruntime,
    missing_pack_error,
    open_session,
    providers,
    signature_reader,
)
from imgsearch.faces.backends.port import BackendConfig, BackendInfo, DetectedFace

RECOGNITION_MEAN, RECOGNITION_STD = 127.5, 127.5
# genderage.onnx normalises inside the graph (it starts with a batch-norm layer): it takes raw 0..255
GENDERAGE_SIZE, GENDERAGE_CROP = 96, 1.5  # a square 1.5x the box's longer side, centred on the box


class _Model:
    """One onnxruntime session with a single image input."""

    def __init__(self, session: Any) -> None:
        self.session = session
        model_input = session.get_inputs()[0]
        self.input_name: str = model_input.name
        self.shape: list[Any] = list(model_input.shape)
        self.fixed_batch = isinstance(self.shape[0], int) and self.shape[0] > 0

    def side(self, axis: int, default: int) -> int:
        value = self.shape[axis]
        return value if isinstance(value, int) and value > 0 else default

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        return list(self.session.run(None, {self.input_name: blob.astype(np.float32)}))

    def run_batched(self, blobs: list[np.ndarray], batch_size: int) -> np.ndarray:
        """First output for each (C, H, W) blob, in batches (one at a time if the model's batch is fixed)."""
        size = 1 if self.fixed_batch else batch_size
        outs = [self.run(np.stack(blobs[i:i + size]))[0] for i in range(0, len(blobs), size)]
        return np.concatenate(outs).reshape(len(blobs), -1)


class InsightFaceBackend:
    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        ort = import_onnxruntime()
        files = identify(config.pack_dir, signature_reader(ort))
        if files.detector is None or files.recognition is None:
            raise missing_pack_error(config.pack_dir, files)
        provider_list = providers(ort, config.device)
        self._detector = _Model(open_session(ort, files.detector, provider_list))
        self._recogniser = _Model(open_session(ort, files.recognition, provider_list))
        self._genderage = (_Model(open_session(ort, files.genderage, provider_list))
                           if files.genderage is not None else None)
        dim = self._recogniser.session.get_outputs()[0].shape[-1]
        used = self._detector.session.get_providers()[0]
        self.info = BackendInfo(
            name="insightface", model=config.model_pack, dim=dim if isinstance(dim, int) else 512,
            detector="scrfd", estimates_age=self._genderage is not None, landmarks="arcface5",
            device="cuda" if used == "CUDAExecutionProvider" else "cpu",
        )

    def analyze(self, image: np.ndarray) -> list[DetectedFace]:
        image = np.ascontiguousarray(image, dtype=np.uint8)
        height, width = image.shape[:2]
        small, scale = downscale(image, self.config.detect_max_side)
        input_h = self._detector.side(2, self.config.det_size)
        input_w = self._detector.side(3, self.config.det_size)
        blob, det_scale = scrfd.letterbox(small, input_w, input_h)
        threshold = max(self.config.min_score, scrfd.MIN_THRESHOLD)
        found = scrfd.decode(self._detector.run(blob), input_h, input_w, threshold)
        to_full = scale * det_scale  # input pixels per full-size pixel
        picked: list[tuple[tuple[int, int, int, int], float, np.ndarray, np.ndarray]] = []
        for raw_box, score, points in zip(found.boxes, found.scores, found.landmarks, strict=True):
            x1, y1, x2, y2 = (float(v) for v in raw_box)
            box = to_full_size(x1, y1, x2, y2, to_full, width, height)
            if box_side(box) >= self.config.min_face_px:
                picked.append((box, float(score), raw_box / to_full, (points / to_full).astype(np.float32)))
        if not picked:
            return []
        chips = [arcface_chip(image, points, ARCFACE_SIZE) for _, _, _, points in picked]
        embeddings = self._embed(chips)
        ages, sexes = self._age_sex(image, [exact for _, _, exact, _ in picked])
        return [
            DetectedFace(
                box=box, score=score, landmarks=points, eyes=(_pt(points[0]), _pt(points[1])),
                nose=_pt(points[2]), embedding=embedding, age=age, sex=sex, chip=chip,
                mouth=(_pt(points[3]), _pt(points[4])),
            )
            for (box, score, _, points), chip, embedding, age, sex
            in zip(picked, chips, embeddings, ages, sexes, strict=True)
        ]

    def close(self) -> None:
        """Nothing to release: onnxruntime sessions (and their GPU memory) are freed with the object."""

    def _embed(self, chips: list[np.ndarray]) -> list[np.ndarray]:
        blobs = [((chip.astype(np.float32) - RECOGNITION_MEAN) / RECOGNITION_STD).transpose(2, 0, 1)
                 for chip in chips]
        return [unit(row) for row in self._recogniser.run_batched(blobs, self.config.batch_size)]

    def _age_sex(self, image: np.ndarray, boxes: list[np.ndarray]
                 ) -> tuple[list[float | None], list[str | None]]:
        if self._genderage is None:
            return [None] * len(boxes), [None] * len(boxes)
        size = self._genderage.side(2, GENDERAGE_SIZE)
        crops = [centred_square(image, ((x1 + x2) / 2, (y1 + y2) / 2), GENDERAGE_CROP * max(x2 - x1, y2 - y1),
                                size)
                 for x1, y1, x2, y2 in (b.tolist() for b in boxes)]
        out = self._genderage.run_batched([c.astype(np.float32).transpose(2, 0, 1) for c in crops],
                                          self.config.batch_size)
        # [female logit, male logit, age / 100]
        ages: list[float | None] = [round(float(row[2]) * 100, 1) for row in out]
        sexes: list[str | None] = ["M" if row[1] > row[0] else "F" for row in out]
        return ages, sexes


def _pt(point: np.ndarray) -> tuple[float, float]:
    return float(point[0]), float(point[1])
