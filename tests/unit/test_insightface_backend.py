"""The InsightFace backend's plumbing, on tiny ONNX graphs with buffalo_l's signatures
(tests/support/fake_insightface.py): letterbox and scale back to full size, SCRFD decoding, NMS,
filters, alignment, embeddings, age and sex, model discovery and the errors when models are missing."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imgsearch.common.errors import ConfigurationError
from imgsearch.faces.backends import scrfd
from imgsearch.faces.backends.align import ARCFACE_TEMPLATE, arcface_chip, similarity
from imgsearch.faces.backends.geometry import nms
from imgsearch.faces.backends.insightface_backend import InsightFaceBackend
from imgsearch.faces.backends.pack import import_onnxruntime
from imgsearch.faces.backends.port import BackendConfig
from tests.support.fake_insightface import FakeFace, detector_outputs, write_pack

# in pixels of the 640x640 detector input
FACE_A = FakeFace.frontal(200, 100, 300, 230, score=0.9)
FACE_A_AGAIN = FakeFace.frontal(204, 104, 302, 232, score=0.8, stride=8)  # same face, other stride: NMS
FACE_B = FakeFace.frontal(400, 200, 460, 270, score=0.75)
FACE_WEAK = FakeFace.frontal(500, 300, 560, 370, score=0.3)
FACE_TINY = FakeFace.frontal(100, 400, 110, 412, score=0.95, stride=8)
ALL = (FACE_A, FACE_A_AGAIN, FACE_B, FACE_WEAK, FACE_TINY)


def noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def backend_for(models: Path, faces: tuple[FakeFace, ...] = ALL, *, names: dict[str, str] | None = None,
                genderage: bool = True, batched: bool = False, **config: Any) -> InsightFaceBackend:
    write_pack(models / "buffalo_l", faces, names=names, genderage=genderage, batched=batched)
    return InsightFaceBackend(BackendConfig(models_dir=models, **config))


def expected_box(face: FakeFace, factor: float) -> np.ndarray:
    return np.array(face.box) / factor


def test_faces_come_back_in_full_size_coordinates_best_first(tmp_path: Path) -> None:
    backend = backend_for(tmp_path)
    faces = backend.analyze(noise(960, 1280))  # letterboxed 1280 -> 640: input pixels are 2 image pixels

    assert [round(f.score, 2) for f in faces] == [0.9, 0.75]  # duplicate suppressed, weak and tiny dropped
    for face, fake in zip(faces, (FACE_A, FACE_B), strict=True):
        np.testing.assert_allclose(face.box, expected_box(fake, 0.5), atol=1)
        np.testing.assert_allclose(face.landmarks, np.array(fake.landmarks) * 2, atol=0.01)
        assert face.mouth is not None
        named = [*face.eyes, face.nose, *face.mouth]  # eyes, nose tip, mouth corners: image-left first
        np.testing.assert_allclose(named, face.landmarks, atol=1e-3)


def test_detection_on_a_downscaled_copy_maps_back(tmp_path: Path) -> None:
    backend = backend_for(tmp_path, detect_max_side=1200)
    faces = backend.analyze(noise(1200, 2400))  # 2400 -> 1200 (detect_max_side) -> 640 (detector input)

    factor = 1200 / 2400 * 640 / 1200
    assert len(faces) == 2
    np.testing.assert_allclose(faces[0].box, expected_box(FACE_A, factor), atol=1)
    np.testing.assert_allclose(faces[1].landmarks, np.array(FACE_B.landmarks) / factor, atol=0.01)


def test_embeddings_are_unit_512d_and_tell_faces_apart(tmp_path: Path) -> None:
    backend = backend_for(tmp_path)
    image = noise(960, 1280)
    first, second = backend.analyze(image)

    assert backend.info.dim == 512
    for face in (first, second):
        assert face.embedding.shape == (512,) and face.embedding.dtype == np.float32
        assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)
        assert face.chip.shape == (112, 112, 3) and face.chip.dtype == np.uint8
    assert float(first.embedding @ second.embedding) < 0.9
    again = backend.analyze(image)[0]
    np.testing.assert_allclose(again.embedding, first.embedding, atol=1e-6)


def test_age_and_sex_come_from_genderage(tmp_path: Path) -> None:
    backend = backend_for(tmp_path)
    faces = backend.analyze(noise(960, 1280))

    assert backend.info.estimates_age
    assert [(f.age, f.sex) for f in faces] == [(35.0, "M"), (35.0, "M")]


def test_without_genderage_age_and_sex_are_unknown(tmp_path: Path) -> None:
    backend = backend_for(tmp_path, genderage=False)

    assert not backend.info.estimates_age
    assert all(f.age is None and f.sex is None for f in backend.analyze(noise(960, 1280)))


def test_min_score_and_min_face_px_filter(tmp_path: Path) -> None:
    strict = backend_for(tmp_path / "a", min_score=0.8)
    assert [round(f.score, 2) for f in strict.analyze(noise(960, 1280))] == [0.9]

    lenient = backend_for(tmp_path / "b", min_score=0.2, min_face_px=8)
    scores = [round(f.score, 2) for f in lenient.analyze(noise(960, 1280))]
    assert scores == [0.95, 0.9, 0.75, 0.3]  # the tiny face (20x24 px) and the weak one are back

    big_only = backend_for(tmp_path / "c", min_face_px=150)  # A is 200x260, B 120x140 full-size pixels
    assert [round(f.score, 2) for f in big_only.analyze(noise(960, 1280))] == [0.9]


def test_outputs_with_a_batch_dimension_decode_the_same(tmp_path: Path) -> None:
    backend = backend_for(tmp_path, batched=True)
    faces = backend.analyze(noise(960, 1280))

    assert len(faces) == 2
    np.testing.assert_allclose(faces[0].box, expected_box(FACE_A, 0.5), atol=1)


def test_models_under_other_names_are_recognised_by_their_shapes(tmp_path: Path) -> None:
    names = {"detector": "model_a.onnx", "recognition": "model_b.onnx", "genderage": "model_c.onnx"}
    backend = backend_for(tmp_path, names=names)

    assert backend.info.estimates_age
    assert len(backend.analyze(noise(960, 1280))) == 2


def test_missing_models_are_a_configuration_error_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="IMGSEARCH_FACES__MODELS_DIR") as missing_dir:
        InsightFaceBackend(BackendConfig(models_dir=tmp_path / "nowhere"))
    assert "det_10g.onnx" in missing_dir.value.message

    write_pack(tmp_path / "buffalo_l", ALL)
    (tmp_path / "buffalo_l" / "w600k_r50.onnx").unlink()
    with pytest.raises(ConfigurationError, match="no recognition model"):
        InsightFaceBackend(BackendConfig(models_dir=tmp_path))


def test_cuda_without_a_cuda_provider_is_a_configuration_error(tmp_path: Path) -> None:
    if "CUDAExecutionProvider" in import_onnxruntime().get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(ConfigurationError, match="IMGSEARCH_FACES__DEVICE=cuda"):
        backend_for(tmp_path, device="cuda")


def test_scrfd_decoding_finds_the_encoded_boxes() -> None:
    found = scrfd.decode(detector_outputs([FACE_A, FACE_B]), 640, 640, threshold=0.5)

    np.testing.assert_allclose(found.boxes, [FACE_A.box, FACE_B.box], atol=1e-3)
    np.testing.assert_allclose(found.landmarks[1], FACE_B.landmarks, atol=1e-3)
    np.testing.assert_allclose(found.scores, [0.9, 0.75], atol=1e-6)


def test_letterbox_scales_to_fit_and_pads_right_and_bottom() -> None:
    blob, factor = scrfd.letterbox(np.full((300, 600, 3), 255, dtype=np.uint8), 640, 640)

    assert blob.shape == (1, 3, 640, 640) and factor == pytest.approx(640 / 600, rel=1e-3)
    assert blob[0, :, :320, :].min() == pytest.approx((255 - 127.5) / 128)
    assert blob[0, :, 330:, :].max() == pytest.approx(-127.5 / 128)


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]], dtype=np.float32)
    scores = np.array([0.6, 0.9, 0.5, 0.4], dtype=np.float32)

    assert nms(boxes, scores, 0.4) == [1, 2]


def test_similarity_recovers_rotation_scale_and_shift() -> None:
    angle = math.radians(25)
    rotation = 1.7 * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = ARCFACE_TEMPLATE @ rotation.T + [300, 120]

    matrix = similarity(points, ARCFACE_TEMPLATE)

    np.testing.assert_allclose(points @ matrix[:, :2].T + matrix[:, 2], ARCFACE_TEMPLATE, atol=1e-6)


def test_alignment_puts_the_landmarks_on_the_template() -> None:
    """Bright dots at a rotated, scaled copy of the template land on the template in the 112x112 chip."""
    angle = math.radians(-30)
    rotation = 2.5 * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = ARCFACE_TEMPLATE @ rotation.T + [150, 260]
    image = np.zeros((500, 500, 3), dtype=np.uint8)
    for x, y in np.rint(points).astype(int):
        image[y - 3:y + 4, x - 3:x + 4] = 255

    chip = arcface_chip(image, points)

    assert chip.shape == (112, 112, 3)
    for x, y in np.rint(ARCFACE_TEMPLATE).astype(int):
        assert chip[y, x].min() == 255  # a 7-px dot shrinks to ~3 px: its centre stays white
    assert chip.mean() < 10  # and nothing else is bright
