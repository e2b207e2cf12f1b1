"""A loaded CLIP model: preprocess, encode images and texts, describe the vectors it makes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from imgsearch.common.vectors.port import CollectionSpec

Vectors = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True)
class ModelInfo:
    model: str
    pretrained: str  # the configured value ("random" when untrained)
    dim: int
    random_weights: bool
    device: str
    precision: str  # fp32 | bf16 | fp16: the dtype inference runs in
    image_size: int
    towers: frozenset[str]


class ClipModel:
    """Blocking calls: run them off the event loop. Safe to share between threads (inference only
    reads the weights), e.g. embed's inference thread and search's encoder thread in the runner."""

    def __init__(
        self, info: ModelInfo, model: torch.nn.Module, transform: Callable[[Image.Image], torch.Tensor],
        tokenizer: Callable[[Sequence[str]], torch.Tensor] | None, dtype: torch.dtype,
    ) -> None:
        self.info = info
        self._model = model
        # open_clip's CLIP / CustomTextCLIP methods (nn.Module attribute lookup hides them from mypy)
        self._encode_image: Callable[[torch.Tensor], torch.Tensor] = model.encode_image  # type: ignore[assignment]
        self._encode_text: Callable[[torch.Tensor], torch.Tensor] = model.encode_text  # type: ignore[assignment]
        self._transform = transform
        self._tokenizer = tokenizer
        self._dtype = dtype
        self._device = torch.device(info.device)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """The model's own eval transform (resize, center crop, normalise): float32 [3, H, W], on CPU."""
        return self._transform(image)

    def encode_images(self, pixels: torch.Tensor) -> Vectors:
        """[n, 3, H, W] preprocessed pixels → L2-normalised float32 [n, dim]. Blocking."""
        self._require("image")
        if pixels.shape[0] == 0:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        batch = pixels.to(self._device, dtype=self._dtype, non_blocking=True)
        with torch.inference_mode():
            features = self._encode_image(batch)
        return _normalised(features)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Texts → L2-normalised float32 [n, dim]. Blocking."""
        self._require("text")
        if len(texts) == 0:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        assert self._tokenizer is not None
        tokens = self._tokenizer(list(texts)).to(self._device)
        with torch.inference_mode():
            features = self._encode_text(tokens)
        return _normalised(features)

    def collection_spec(self) -> CollectionSpec:
        return CollectionSpec(model=self.info.model, pretrained=self.info.pretrained, dim=self.info.dim)

    def _require(self, tower: str) -> None:
        if tower not in self.info.towers:
            raise RuntimeError(f"this ClipModel was loaded without the {tower} tower")


def _normalised(features: torch.Tensor) -> Vectors:
    # normalise in float32: bf16/fp16 outputs lose precision in the norm otherwise
    vectors = torch.nn.functional.normalize(features.float(), dim=-1)
    return np.ascontiguousarray(vectors.cpu().numpy(), dtype=np.float32)
