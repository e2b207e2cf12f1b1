"""PeopleStore over PostgreSQL: the gateway's people operations (reads and writes in their own modules)."""

from __future__ import annotations

from imgsearch.common.db.people_reads import PeopleReads
from imgsearch.common.db.people_writes import PeopleWrites


class PeopleRepository(PeopleReads, PeopleWrites):
    """PeopleRepository(pool) implements imgsearch.common.db.people_records.PeopleStore."""
