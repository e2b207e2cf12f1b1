"""The page bounds every growing list of the gateway shares (people, clusters, faces, cameras, browse,
duplicates), whichever API asks."""

from __future__ import annotations

from imgsearch.common.errors import InvalidInput

DEFAULT_PAGE = 50
MAX_PAGE = 500
MAX_OFFSET = 10_000_000


def check_page(limit: int, offset: int) -> tuple[int, int]:
    """limit 0 (unset in protobuf) means the default."""
    if not 0 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE} (got {limit})")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET} (got {offset})")
    return limit or DEFAULT_PAGE, offset
