"""The near-duplicate photos of ../shared/data and how they are probed and compared, as ingest does it."""

from __future__ import annotations

from imgsearch.common.settings import DuplicatesSettings
from imgsearch.ingest.probe import ProbeLimits

THRESHOLD = DuplicatesSettings().near_threshold
LIMITS = ProbeLimits(max_image_pixels=200_000_000, max_file_bytes=512 * 1024 * 1024, preview_size=384)
NEAR_PAIRS = [
    ("robustness/duplicates/pillow_flower.jpg", "robustness/duplicates/pillow_flower.webp"),
    ("robustness/duplicates/pillow_flower2.jpg", "robustness/duplicates/pillow_flower2.webp"),
    ("scenes/photoprism/dog_created_1919.jpg", "scenes/photoprism/dog_toshi_yellow.jpg"),
    ("scenes/photoprism/IMG_4120.JPG", "scenes/photoprism/IMG_E4120.JPG"),  # square crop + black and white
]
