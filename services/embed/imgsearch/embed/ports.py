"""What the embed handlers need from their collaborators (fakes stand in for them in unit tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch
from google.protobuf.message import Message
from PIL import Image

from imgsearch.clip.model import ModelInfo
from imgsearch.common.vectors.port import CollectionSpec

Vectors = np.ndarray[Any, np.dtype[np.float32]]


class ImageEncoder(Protocol):
    """imgsearch.clip.ClipModel loaded with the image tower."""

    @property
    def info(self) -> ModelInfo: ...

    def preprocess(self, image: Image.Image) -> torch.Tensor: ...

    def encode_images(self, pixels: torch.Tensor) -> Vectors: ...

    def collection_spec(self) -> CollectionSpec: ...


class EmbedStatus(Protocol):
    """imgsearch.common.db.images.ImageRepository."""

    async def mark_embedded(self, ids: Sequence[str], model: str) -> None: ...

    async def mark_failed(self, image_id: str, stage: str, reason: str) -> None: ...

    async def record_dead_letter(
        self, stream: str, consumer: str, subject: str, stream_seq: int, deliveries: int,
        reason: str, payload: bytes,
    ) -> None: ...


class Publisher(Protocol):
    """imgsearch.common.bus.Bus."""

    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool: ...
