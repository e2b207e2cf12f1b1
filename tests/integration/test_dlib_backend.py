"""The dlib backend on real photos (../shared/data/faces): detections against hand-drawn boxes, the
same person closer than different people, EXIF-rotated files giving upright boxes. Real weights,
CPU; about 0.2-0.9 s per photo."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgsearch.faces.analyze import AnalyzedFace, analyze_image
from imgsearch.faces.backends.dlib_backend import DlibBackend, choose_upsample, raw_threshold, score01
from imgsearch.faces.backends.port import BackendConfig

Box = tuple[int, int, int, int]
PEOPLE = ("Angelina_Jolie", "John_Kerry", "Tom_Cruise", "Venus_Williams")


@pytest.fixture(scope="module")
def dlib_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DlibBackend]:
    backend = DlibBackend(BackendConfig(models_dir=tmp_path_factory.mktemp("no-insightface")))
    yield backend
    backend.close()


def labelled_boxes(xml_path: Path) -> dict[str, tuple[list[Box], list[Box]]]:
    """file -> (boxes to find, boxes marked ignore='1': finding them is neither right nor wrong)."""
    out: dict[str, tuple[list[Box], list[Box]]] = {}
    for image in ET.parse(xml_path).getroot().iter("image"):
        wanted: list[Box] = []
        ignored: list[Box] = []
        for box in image.iter("box"):
            left, top = int(box.get("left", 0)), int(box.get("top", 0))
            corners = (left, top, left + int(box.get("width", 0)), top + int(box.get("height", 0)))
            (ignored if box.get("ignore") == "1" else wanted).append(corners)
        out[image.get("file", "")] = (wanted, ignored)
    return out


def iou(a: Box, b: Box) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union else 0.0


def rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_finds_the_hand_labelled_faces_of_group_photos(dlib_backend: DlibBackend, shared_data: Path) -> None:
    """The 5 photos of dlib's testing.xml (25 faces, 37-109 px). Measured: 25/25 found, no false
    positives (43/43 over training.xml too); hand-drawn boxes and dlib's differ in style, IoU 0.65-0.95."""
    folder = shared_data / "faces" / "group" / "dlib_faces"
    found = wanted_total = false_positives = 0
    for name, (wanted, ignored) in labelled_boxes(folder / "testing.xml").items():
        boxes = [face.box for face in dlib_backend.analyze(rgb(folder / name))]
        matched = [any(iou(box, gt) >= 0.5 for box in boxes) for gt in wanted]
        found += sum(matched)
        wanted_total += len(wanted)
        unmatched = [b for b in boxes if not any(iou(b, gt) >= 0.5 for gt in wanted + ignored)]
        false_positives += len(unmatched)
        assert abs(len(boxes) - len(wanted)) <= max(1, len(ignored)), name
    assert wanted_total == 25
    assert found / wanted_total >= 0.9
    assert false_positives <= 1


def test_no_faces_on_a_photo_of_dogs(dlib_backend: DlibBackend, shared_data: Path) -> None:
    assert dlib_backend.analyze(rgb(shared_data / "faces" / "group" / "dlib_faces" / "dogs.jpg")) == []


def test_faces_hold_what_the_interface_promises(dlib_backend: DlibBackend, shared_data: Path) -> None:
    [face] = dlib_backend.analyze(rgb(shared_data / "faces" / "lfw" / "Tom_Cruise" / "Tom_Cruise_0001.jpg"))

    assert 0.5 <= face.score <= 1
    assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    (left_x, left_y), (right_x, right_y) = face.eyes
    assert face.box[0] < left_x < right_x < face.box[2]
    assert face.nose[1] > max(left_y, right_y) and left_x < face.nose[0] < right_x
    assert face.embedding.shape == (128,) and face.embedding.dtype == np.float32
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)
    assert face.chip.shape == (150, 150, 3) and face.chip.dtype == np.uint8
    assert (face.age, face.sex, face.mouth) == (None, None, None)


def test_the_same_person_is_closer_than_other_people(dlib_backend: DlibBackend, shared_data: Path) -> None:
    """3 LFW photos each of 4 people. Measured over 4 photos x 20 people: every photo's nearest
    neighbour is the same person; cosine distance same person <= 0.09 (mean 0.05), others >= 0.07 (0.17)."""
    vectors, labels = [], []
    for person in PEOPLE:
        for path in sorted((shared_data / "faces" / "lfw" / person).glob("*.jpg"))[:3]:
            image = rgb(path)
            centre = np.array(image.shape[1::-1]) / 2
            faces = dlib_backend.analyze(image)
            face = min(faces, key=lambda f: float(np.hypot(*(np.add(f.box[:2], f.box[2:]) / 2 - centre))))
            vectors.append(face.embedding)
            labels.append(person)
    names = np.array(labels)
    distance = 1 - np.array(vectors) @ np.array(vectors).T
    same = names[:, None] == names[None, :]
    np.fill_diagonal(distance, np.inf)

    assert (names[distance.argmin(axis=1)] == names).all()
    assert distance[same & np.isfinite(distance)].mean() * 2 < distance[~same].mean()


def analyze_file(path: Path, backend: DlibBackend, crops: Path) -> list[AnalyzedFace]:
    return analyze_image(path, backend, crops_dir=crops, crop_size=96, image_id="photo", max_pixels=10**8)


def matched(a: list[AnalyzedFace], b: list[AnalyzedFace]) -> list[float]:
    return [max(iou(x.face.box, y.face.box) for y in b) for x in a]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotated_files_give_upright_boxes(dlib_backend: DlibBackend, shared_data: Path, tmp_path: Path,
                                               orientation: int) -> None:
    with Image.open(shared_data / "faces" / "group" / "dlib_faces" / "2009_004587.jpg") as original:
        upright = original.convert("RGB")
    upright.save(tmp_path / "upright.jpg", quality=95)
    # stored the way a camera would have written it; Orientation tells viewers how to undo that
    undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    exif = Image.Exif()
    exif[0x0112] = orientation
    upright.transpose(undo[orientation]).save(tmp_path / "stored.jpg", quality=95, exif=exif)

    reference = analyze_file(tmp_path / "upright.jpg", dlib_backend, tmp_path / "crops")
    rotated = analyze_file(tmp_path / "stored.jpg", dlib_backend, tmp_path / "crops")

    assert len(reference) == len(rotated) == 2
    assert min(matched(rotated, reference)) >= 0.8
    assert all(0 < face.quality.quality <= 1 and (tmp_path / "crops" / face.crop_path).is_file()
               for face in rotated)


def test_a_camera_file_with_orientation_6_matches_its_upright_twin(
    dlib_backend: DlibBackend, shared_data: Path, tmp_path: Path
) -> None:
    folder = shared_data / "robustness" / "orientation"
    upright = analyze_file(folder / "immich_portrait.jpg", dlib_backend, tmp_path)
    stored = analyze_file(folder / "immich_portrait-orientation-6.jpg", dlib_backend, tmp_path)

    assert len(upright) == len(stored) == 1
    assert matched(stored, upright)[0] >= 0.8
    assert float(stored[0].face.embedding @ upright[0].face.embedding) > 0.97


def test_the_cnn_detector_finds_the_same_face(shared_data: Path, tmp_path: Path,
                                              dlib_backend: DlibBackend) -> None:
    image = rgb(shared_data / "faces" / "lfw" / "Venus_Williams" / "Venus_Williams_0001.jpg")
    cnn = DlibBackend(BackendConfig(models_dir=tmp_path, dlib_detector="cnn"))

    [by_cnn], [by_hog] = cnn.analyze(image), dlib_backend.analyze(image)

    assert cnn.info.detector == "cnn"
    assert iou(by_cnn.box, by_hog.box) >= 0.5
    assert float(by_cnn.embedding @ by_hog.embedding) > 0.95


def test_score_mapping_is_monotone_and_keeps_near_misses() -> None:
    raws = [-2.0, -0.5, -0.2, 0.0, 0.5, 1.0, 2.0, 3.0]
    scores = [score01(raw) for raw in raws]

    assert scores == sorted(scores) and all(0 < s < 1 for s in scores)
    assert score01(-0.2) == pytest.approx(0.5)
    assert score01(0.0) > 0.5  # everything dlib keeps by default passes min_score 0.5
    assert raw_threshold(0.5) == pytest.approx(-0.2)
    assert score01(raw_threshold(0.8)) == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("height", "width", "scale", "min_face_px", "upsample"),
    [
        (375, 500, 1.0, 32, 2),  # small photo: reach 20 px faces
        (150, 150, 1.0, 40, 1),
        (1200, 1600, 1.0, 32, 1),  # (2 * 1600)² pixels allow one doubling only
        (1200, 1600, 0.4, 32, 1),  # a 4000 px photo downscaled: as far as the budget goes
        (1200, 1600, 1.0, 80, 0),  # big faces only: no upsampling
    ],
)
def test_upsampling_reaches_min_face_px_within_budget(height: int, width: int, scale: float, min_face_px: int,
                                                       upsample: int, tmp_path: Path) -> None:
    config = BackendConfig(models_dir=tmp_path, min_face_px=min_face_px, detect_max_side=1600)
    assert choose_upsample("hog", height, width, scale, config) == upsample


def test_analysis_from_several_threads_matches_one_at_a_time(shared_data: Path,
                                                              dlib_backend: DlibBackend) -> None:
    """dlib's networks keep working buffers: shared across the service's worker threads they crash the
    process. Each thread must get its own models, giving exactly the serial results."""
    from concurrent.futures import ThreadPoolExecutor

    folder = shared_data / "faces" / "lfw" / "Tom_Cruise"
    images = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.jpg"))[:6]] * 2
    serial = [[f.embedding for f in dlib_backend.analyze(image)] for image in images]
    with ThreadPoolExecutor(3) as pool:
        parallel = list(pool.map(lambda image: [f.embedding for f in dlib_backend.analyze(image)], images))
    assert len(parallel) == len(serial)
    for one, other in zip(serial, parallel, strict=True):
        assert len(one) == len(other)
        for a, b in zip(one, other, strict=True):
            assert np.allclose(a, b, atol=1e-5)
