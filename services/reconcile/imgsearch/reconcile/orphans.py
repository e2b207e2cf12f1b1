"""Points without their PostgreSQL truth, in either collection: scrolled page by page, counted, and deleted
on repair. Which points of a page are orphans is the collection's own question."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from imgsearch.common.vectors.port import StoredPoint, VectorStore

OrphansOf = Callable[[Sequence[StoredPoint]], Awaitable[list[str]]]


class OrphanCounts(Protocol):
    """The orphan counts of ImagesCheck and FacesCheck."""

    orphans: int
    orphans_deleted: int


async def remove_orphans(vectors: VectorStore, collection: str, page_size: int, orphans_of: OrphansOf,
                         report: OrphanCounts, repair: bool) -> None:
    offset: str | None = None
    while True:
        page = await vectors.scroll(collection, page_size, offset)
        orphans = await orphans_of(page.points)
        report.orphans += len(orphans)
        if repair and orphans:
            await vectors.delete(collection, orphans)
            report.orphans_deleted += len(orphans)
        if page.next_offset is None:
            return
        offset = page.next_offset
