"""Decode on a small thread pool, infer on ONE dedicated thread.

With the bus running two batches at once (ConsumerSpec.concurrency=2), one batch decodes while the
other is in the model; torch releases the GIL, so the two overlap for real."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from imgsearch.clip.decode import DEFAULT_MAX_PIXELS, decode_image
from imgsearch.common.errors import BadImage, ImgSearchError, Unavailable
from imgsearch.embed.ports import ImageEncoder, Vectors


class EmbedPipeline:
    def __init__(self, encoder: ImageEncoder, decode_workers: int = 2,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.encoder = encoder
        self.max_pixels = max_pixels
        self._decode = ThreadPoolExecutor(max_workers=decode_workers, thread_name_prefix="embed-decode")
        self._infer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-infer")

    async def prepare(self, paths: Sequence[Path]) -> list[torch.Tensor | ImgSearchError]:
        """Model-ready pixels per path, or the error that explains why there are none: BadImage (the
        file's fault: terminal) or Unavailable (out of file handles, NFS trouble: retried)."""
        loop = asyncio.get_running_loop()
        futures = [loop.run_in_executor(self._decode, self._prepare_one, path) for path in paths]
        return list(await asyncio.gather(*futures))

    async def encode(self, pixels: Sequence[torch.Tensor]) -> Vectors:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._infer, self._encode, list(pixels))

    def close(self) -> None:
        self._decode.shutdown(wait=True)
        self._infer.shutdown(wait=True)

    def _prepare_one(self, path: Path) -> torch.Tensor | ImgSearchError:
        try:
            image = decode_image(path, self.encoder.info.image_size, self.max_pixels)
            return self.encoder.preprocess(image)
        except (BadImage, Unavailable) as exc:
            return exc
        except Exception as exc:  # a transform failing on an odd image is the image's fault too
            return BadImage(f"cannot preprocess image: {exc!r}"[:200])

    def _encode(self, pixels: list[torch.Tensor]) -> Vectors:
        return self.encoder.encode_images(torch.stack(pixels))
