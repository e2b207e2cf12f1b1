"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.fixture
async def executor() -> AsyncIterator[ThreadPoolExecutor]:
    """One worker thread for the search handlers a gateway world runs in-process."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool
