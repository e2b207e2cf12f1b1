"""A database that is down or overloaded is Unavailable (503 / UNAVAILABLE / nak), not an internal error."""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout

from imgsearch.common.errors import Unavailable


def as_unavailable(exc: BaseException) -> Unavailable | None:
    """The Unavailable an infrastructure failure means, None for anything else (a real bug)."""
    if isinstance(exc, PoolTimeout):
        return Unavailable("the database is busy or unreachable: no connection within the pool timeout")
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return Unavailable(f"the database is unavailable: {str(exc).strip()[:200] or type(exc).__name__}")
    return None
