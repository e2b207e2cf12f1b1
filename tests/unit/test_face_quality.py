"""Face quality: pose from landmarks, sharpness of the chip, and the combined figure's ordering."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageFilter

from imgsearch.faces.backends.port import DetectedFace
from imgsearch.faces.quality import FaceQuality, assess, pose, sharpness

IMAGE = (1000, 800)


def textured_chip(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.kron(rng.integers(0, 256, (28, 28, 3)), np.ones((4, 4, 1))).astype(np.uint8)


def face(*, side: int = 120, score: float = 0.95, nose_dx: float = 0.0, nose_dy: float = 0.57,
         angle: float = 0.0, mouth: bool = True, chip: np.ndarray | None = None) -> DetectedFace:
    """A face centred at (500, 400) whose eyes are 40 px apart; nose offsets in eye distances."""
    turn = math.radians(angle)
    along, down = np.array([math.cos(turn), math.sin(turn)]), np.array([-math.sin(turn), math.cos(turn)])
    centre = np.array([500.0, 380.0])
    left, right = centre - 20 * along, centre + 20 * along
    nose = centre + 40 * (nose_dx * along + nose_dy * down)
    mouth_l, mouth_r = centre + 40 * (1.1 * down - 0.4 * along), centre + 40 * (1.1 * down + 0.4 * along)
    points = np.array([left, right, nose, mouth_l, mouth_r], dtype=np.float32)
    return DetectedFace(
        box=(500 - side // 2, 400 - side // 2, 500 + side // 2, 400 + side // 2), score=score,
        landmarks=points, eyes=((left[0], left[1]), (right[0], right[1])), nose=(nose[0], nose[1]),
        embedding=np.zeros(512, dtype=np.float32), age=None, sex=None,
        chip=textured_chip() if chip is None else chip,
        mouth=((mouth_l[0], mouth_l[1]), (mouth_r[0], mouth_r[1])) if mouth else None,
    )


def test_a_frontal_face_has_no_yaw_pitch_or_roll() -> None:
    assert pose(face()) == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)
    assert pose(face(mouth=False, nose_dy=0.75)) == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)  # dlib points


def test_roll_is_the_eye_line_angle_and_does_not_leak_into_yaw() -> None:
    yaw, pitch, roll = pose(face(angle=20))

    assert roll == pytest.approx(20, abs=1e-6)
    assert yaw == pytest.approx(0, abs=1e-6) and pitch == pytest.approx(0, abs=1e-6)


def test_yaw_follows_the_nose_sideways_and_pitch_up_and_down() -> None:
    assert pose(face(nose_dx=0.2))[0] > 15
    assert pose(face(nose_dx=-0.5))[0] < -40
    assert pose(face(nose_dy=0.8))[1] > 15  # nose further below the eyes: looking down
    assert pose(face(nose_dy=0.35))[1] < -15


def test_sharpness_drops_with_blur_and_is_zero_for_a_flat_chip() -> None:
    chip = textured_chip()
    blurred = np.asarray(Image.fromarray(chip).filter(ImageFilter.GaussianBlur(2)))

    assert sharpness(chip) > 10 * sharpness(blurred) > 0
    assert sharpness(np.full((112, 112, 3), 128, dtype=np.uint8)) == 0.0
    assert sharpness(np.kron(chip, np.ones((2, 2, 1), dtype=np.uint8))) > 0  # any chip size


def test_quality_is_in_range_and_ranks_faces_sensibly() -> None:
    good = assess(face(), IMAGE)
    blurred_chip = np.asarray(Image.fromarray(textured_chip()).filter(ImageFilter.GaussianBlur(3)))

    assert isinstance(good, FaceQuality) and 0.9 < good.quality <= 1.0
    assert assess(face(side=40), IMAGE).quality < good.quality
    assert assess(face(score=0.55), IMAGE).quality < good.quality
    assert assess(face(nose_dx=0.5), IMAGE).quality < assess(face(nose_dx=0.1), IMAGE).quality < good.quality
    assert assess(face(chip=blurred_chip), IMAGE).quality < good.quality
    assert assess(face(), (520, 450)).quality < good.quality  # box reaches the frame: probably cut off


def test_size_saturates_at_100_px() -> None:
    assert assess(face(side=100), IMAGE).quality == pytest.approx(assess(face(side=300), IMAGE).quality)


def test_degenerate_landmarks_do_not_crash() -> None:
    same = face()
    collapsed = replace(same, eyes=(same.eyes[0], same.eyes[0]))

    assert pose(collapsed) == (0.0, 0.0, 0.0)
    assert 0.0 <= assess(collapsed, IMAGE).quality <= 1.0
