"""Follow a session until it finishes: redrawn in place on a terminal, periodic plain lines otherwise.
Ctrl-C detaches; the session keeps running on the server."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from imgsearch.cli.progress import finished, render_bars, render_line

Fetch = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class FollowConfig:
    tty: bool
    width: int = 80
    interval_s: float = 1.0  # between polls
    plain_every_s: float = 10.0  # without a terminal: a line at most this often unless it changed...
    plain_quiet_s: float = 60.0  # ...and at least this often when nothing changed


def follow(fetch: Fetch, out: TextIO, config: FollowConfig,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> int:
    """Poll until the session is done or cancelled (exit 0); Ctrl-C detaches (exit 0 with a hint)."""
    drawn = 0
    last_line, last_at = "", float("-inf")
    session: dict[str, Any] = {}
    try:
        while True:
            session = fetch()
            if config.tty:
                lines = render_bars(session, config.width)
                if drawn:
                    out.write(f"\x1b[{drawn}F\x1b[J")  # back to the first line drawn, clear below
                out.write("\n".join(lines) + "\n")
                drawn = len(lines)
            else:
                line, now = render_line(session), clock()
                changed_due = line != last_line and now - last_at >= config.plain_every_s
                if changed_due or now - last_at >= config.plain_quiet_s or finished(session):
                    out.write(line + "\n")
                    last_line, last_at = line, now
            out.flush()
            if finished(session):
                return 0
            sleep(config.interval_s)
    except KeyboardInterrupt:
        session_id = session.get("id", "ID")
        out.write(f"\ndetached: session {session_id} keeps running. Follow it again with `imgsearch watch"
                  f" {session_id}`; `imgsearch pause {session_id}` or `imgsearch cancel {session_id}` to stop"
                  " it.\n")
        out.flush()
        return 0
