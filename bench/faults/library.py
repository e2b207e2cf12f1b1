"""The library the fault run ingests, copied into its work folder:

- ``robustness/``: the 99 files of ../shared/data/robustness listed in its MANIFEST.tsv;
- ``good/``: one ordinary photo, queued behind them (ingested after them);
- ``batch/``: N files of distinct content from ../shared/data/faces and ../shared/data/scenes.

"Distinct" is by content (sha256, the image id): several files in the data sets are byte-identical."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from imgsearch.common.ids import content_hash

_PHOTOS = {".jpg", ".jpeg", ".png"}


@dataclass(frozen=True)
class Library:
    root: Path
    robustness: list[Path]  # the 99 copies, in MANIFEST order
    good: Path
    good_id: str
    batch: dict[Path, str]  # copy → image id (content hash), all ids distinct

    @property
    def robustness_dir(self) -> Path:
        return self.root / "robustness"

    @property
    def batch_dir(self) -> Path:
        return self.root / "batch"


def manifest_paths(robustness: Path) -> list[str]:
    lines = (robustness / "MANIFEST.tsv").read_text().splitlines()[1:]
    return [line.split("\t")[0] for line in lines if line.strip()]


def _photos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _PHOTOS
                  and not p.name.startswith("."))


def build_library(shared: Path, root: Path, count: int) -> Library:
    robustness_src = shared / "robustness"
    robustness: list[Path] = []
    for relative in manifest_paths(robustness_src):
        copy = root / "robustness" / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(robustness_src / relative, copy)
        robustness.append(copy)
    seen = {content_hash(p) for p in robustness}
    faces, scenes = _photos(shared / "faces"), _photos(shared / "scenes")
    # Portraits (fast to analyse) alternating with every fourth scene photo (larger), then portraits.
    mixed = [p for group in zip_longest(scenes[::4], faces) for p in group if p is not None]
    good: tuple[Path, str] | None = None
    batch: dict[Path, str] = {}
    (root / "batch").mkdir(parents=True, exist_ok=True)
    for source in mixed:
        if len(batch) == count:
            break
        image_id = content_hash(source)
        if image_id in seen:
            continue
        seen.add(image_id)
        if good is None:
            good_copy = root / "good" / f"good{source.suffix.lower()}"
            good_copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, good_copy)
            good = (good_copy, image_id)
            continue
        copy = root / "batch" / f"{len(batch):04d}_{source.name}"
        shutil.copy2(source, copy)
        batch[copy] = image_id
    if good is None or len(batch) < count:
        raise SystemExit(f"only {len(batch)} distinct photos in {shared}/faces and scenes; {count} wanted")
    return Library(root, robustness, good[0], good[1], batch)
