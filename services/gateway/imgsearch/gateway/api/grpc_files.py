"""Files over gRPC: an image's thumbnail as one message, its original as a stream of chunks. The paths come
from the same Gateway calls as REST's FileResponse (library roots and thumbnails folder enforced there)."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import grpc

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.errors import NotFound
from imgsearch.gateway.api.grpc_errors import answer
from imgsearch.gateway.files import read_capped
from imgsearch.gateway.service import Gateway, check_image_id

CHUNK_BYTES = 64 * 1024
MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024  # thumbnails are ~30 kB JPEGs; gRPC messages stop at 4 MB


def media_type(path: Path) -> str:
    """What REST's FileResponse sends as Content-Type for the same file."""
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


async def thumbnail(gateway: Gateway, image_id: str) -> pb.ImageFile:
    image_id = check_image_id(image_id)
    path = await gateway.thumbnail(image_id)
    data = await read_capped(path, MAX_THUMBNAIL_BYTES, f"the thumbnail of image {image_id}")
    return pb.ImageFile(image_id=image_id, media_type=media_type(path), data=data)


async def original_chunks(
    gateway: Gateway, image_id: str, context: grpc.aio.ServicerContext
) -> AsyncIterator[pb.FileChunk]:
    """The original in CHUNK_BYTES pieces; errors (before or during the stream) as status codes."""
    image_id = await answer(context, _checked(image_id))
    path = await answer(context, gateway.original(image_id))
    handle = await answer(context, _open(path, image_id))
    try:
        offset, size = 0, os.fstat(handle.fileno()).st_size
        while True:
            data = await answer(context, _read(handle, image_id))
            first = offset == 0
            if not data and not first:
                return
            yield pb.FileChunk(
                image_id=image_id, offset=offset, data=data, file_name=path.name if first else "",
                media_type=media_type(path) if first else "", size_bytes=size if first else 0,
            )
            offset += len(data)
            if not data:
                return
    finally:
        handle.close()


async def _checked(image_id: str) -> str:
    return check_image_id(image_id)


async def _open(path: Path, image_id: str) -> BinaryIO:
    try:
        return await asyncio.to_thread(path.open, "rb")
    except OSError as exc:
        raise NotFound(f"the original of image {image_id} cannot be read: {exc}") from exc


async def _read(handle: BinaryIO, image_id: str) -> bytes:
    try:
        return await asyncio.to_thread(handle.read, CHUNK_BYTES)
    except OSError as exc:
        raise NotFound(f"the original of image {image_id} cannot be read: {exc}") from exc
