"""A short-lived cache of session progress for the gateway.

A progress report aggregates every file of a session (joined with images) in PostgreSQL; the CLI polls it
and a session list asks it for each session on the page. Within a couple of seconds the numbers barely
move, so each session's report is kept ttl_s; finished_ttl_s once the session is done or cancelled and
every file is through the last stage (embed and faces go on after a session is done: until then the
short ttl holds). At most max_entries sessions are kept (least recently used go first). The gateway
drops a session's entry when it changes the session (pause, resume, cancel)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from imgsearch.common.db.session_records import ProgressReport, SessionRecord

PROGRESS_TTL_S = 2.0
FINISHED_TTL_S = 30.0
MAX_ENTRIES = 1024
FINISHED = frozenset({"done", "cancelled"})


class ProgressCache:
    def __init__(self, ttl_s: float = PROGRESS_TTL_S, finished_ttl_s: float = FINISHED_TTL_S,
                 max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.finished_ttl_s = ttl_s, finished_ttl_s
        self.max_entries, self.clock = max_entries, clock
        self._entries: OrderedDict[int, tuple[float, ProgressReport]] = OrderedDict()

    async def report(self, record: SessionRecord,
                     load: Callable[[int], Awaitable[ProgressReport]]) -> ProgressReport:
        """The session's report: the cached one while fresh, else load(session id), kept."""
        entry = self._entries.get(record.id)
        now = self.clock()
        if entry is not None and entry[0] > now:
            self._entries.move_to_end(record.id)
            return entry[1]
        report = await load(record.id)
        settled = record.state in FINISHED and report.total.percent >= 100.0
        ttl_s = self.finished_ttl_s if settled else self.ttl_s
        if ttl_s > 0:
            self._entries[record.id] = (self.clock() + ttl_s, report)
            self._entries.move_to_end(record.id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return report

    def forget(self, session_id: int) -> None:
        """The session changed: its next report is read again."""
        self._entries.pop(session_id, None)
