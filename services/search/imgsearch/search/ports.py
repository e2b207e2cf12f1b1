"""What search needs from its collaborators: a text encoder, image metadata and people's photos."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from imgsearch.common.db.images import ImageRecord
from imgsearch.common.db.people_records import PeopleImageFilter
from imgsearch.common.vectors.port import CollectionSpec


class EncoderInfo(Protocol):
    @property
    def model(self) -> str: ...
    @property
    def pretrained(self) -> str: ...
    @property
    def dim(self) -> int: ...
    @property
    def random_weights(self) -> bool: ...


class TextEncoder(Protocol):
    """imgsearch.clip.ClipModel loaded with the text tower; a fake in unit tests."""

    @property
    def info(self) -> EncoderInfo: ...

    def encode_texts(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """L2-normalised float32 [n, dim]. Blocking: call it off the event loop."""
        ...

    def collection_spec(self) -> CollectionSpec: ...


class ImageLookup(Protocol):
    """imgsearch.common.db.images.ImageRepository."""

    async def get_many(self, ids: Sequence[str]) -> dict[str, ImageRecord]: ...


class PeopleImages(Protocol):
    """imgsearch.common.db.people.PeopleRepository: which photos a people filter allows."""

    async def images_for_people(
        self, all_of: Sequence[int], any_of: Sequence[int], none_of: Sequence[int]
    ) -> PeopleImageFilter: ...
