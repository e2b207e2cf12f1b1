"""Ask for an ingest from any service. Imports no Pillow: the gateway's pod doesn't install it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from imgsearch.common.bus import Bus
from imgsearch.common.errors import InvalidInput
from imgsearch.common.ids import message_id
from imgsearch.common.subjects import COMMANDS_INGEST
from imgsearch.events.v1.events_pb2 import IngestRequested


async def request_ingest(bus: Bus, path: Path, include: Sequence[str] = (), exclude: Sequence[str] = (),
                         *, session_id: int = 0, priority: str = "") -> str:
    """Queue an ingest of an absolute path (the ingest service checks it lies under a library root):
    without session_id the service makes a session for it (priority: empty = normal); with one, the
    service starts that session made already (imgsearch.common.db.sessions).

    Returns the request id. Safe to call from any service: the command is durable in JetStream."""
    if not path.is_absolute():
        raise InvalidInput(f"ingest path must be absolute: {path}")
    request_id = uuid.uuid4().hex
    command = IngestRequested(
        path=str(path), include=list(include), exclude=list(exclude), request_id=request_id,
        session_id=session_id, priority=priority,
    )
    await bus.publish(COMMANDS_INGEST, command, message_id(COMMANDS_INGEST, request_id))
    return request_id
