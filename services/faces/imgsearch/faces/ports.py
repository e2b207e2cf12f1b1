"""What the faces service needs from the bus (adapter: imgsearch.common.bus.Bus)."""

from __future__ import annotations

from typing import Protocol

from google.protobuf.message import Message


class Publisher(Protocol):
    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool: ...
