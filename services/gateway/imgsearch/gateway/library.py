"""The library API, whichever API asks (REST api/http_library.py, gRPC api/grpc_library.py): the directory
browser and the duplicates lists, with the same checks for both."""

from __future__ import annotations

from typing import Protocol

from imgsearch.common.db.duplicates import EXACT, NEAR, DuplicatePage
from imgsearch.common.errors import InvalidInput
from imgsearch.gateway.browse import DirectoryBrowser, Listing
from imgsearch.gateway.files import check_path_text
from imgsearch.gateway.paging import check_page

KINDS = (EXACT, NEAR)
MAX_PATH_CHARS = 4096


class DuplicateLister(Protocol):
    """imgsearch.common.db.duplicates.DuplicatesRepository."""

    async def exact_groups(self, limit: int, offset: int) -> DuplicatePage: ...
    async def near_groups(self, limit: int, offset: int, threshold: int) -> DuplicatePage: ...


class LibraryCatalog:
    def __init__(self, browser: DirectoryBrowser, duplicates: DuplicateLister, near_threshold: int) -> None:
        self.browser = browser
        self.duplicates_store = duplicates
        self.near_threshold = near_threshold  # settings.duplicates.near_threshold

    async def browse(self, path: str | None, limit: int | None = None, offset: int = 0) -> Listing:
        """A folder's subdirectories, a page of them (limit 0: the default page) or, for in-process callers
        that page themselves, all of them (limit None)."""
        if path is not None:
            if len(path) > MAX_PATH_CHARS:
                raise InvalidInput(f"path is longer than {MAX_PATH_CHARS} characters")
            check_path_text(path, "path")
        if limit is not None:
            limit, offset = check_page(limit, offset)
        return await self.browser.browse(path, limit, offset)

    async def duplicates(self, kind: str, limit: int, offset: int) -> DuplicatePage:
        """Groups of one kind; limit 0 means the default page."""
        kind = kind.strip().lower() or NEAR
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        limit, offset = check_page(limit, offset)
        if kind == EXACT:
            return await self.duplicates_store.exact_groups(limit, offset)
        return await self.duplicates_store.near_groups(limit, offset, self.near_threshold)
