"""Session progress as text: a pure function of the session JSON (GET /api/v1/sessions/{id}), so every
display is testable without a server. Bars for a terminal, one line for logs and pipes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STAGES = (("ingested", "ingested"), ("embedded", "embedded"), ("faces_done", "faces"))
MAX_SUBDIRECTORIES = 8  # shown under the bars; the rest are summed up in one line


def render_bars(session: Mapping[str, Any], width: int = 80) -> list[str]:
    """The redrawn display: a header, one bar per stage, totals with ETA, the subdirectories."""
    progress = _progress(session)
    total = _int(progress, "discovered")
    rates = progress.get("rates") or {}
    scanning = "" if progress.get("discovery_complete", True) else " (still discovering)"
    lines = [_header(session), f"  discovered {total:>10,}{scanning}"]
    bar_width = max(10, min(40, width - 50))
    for key, label in STAGES:
        done = _int(progress, key)
        lines.append(f"  {label:<10} {bar(done, total, bar_width)} {done:>8,}/{total:<8,}"
                     f" {_percent(done, total):>4}  {rate(rates.get(key)):>8}")
    lines.append(f"  {summary(progress)}")
    subdirectories = list(session.get("subdirectory_progress") or [])
    for entry in subdirectories[:MAX_SUBDIRECTORIES]:
        sub = _progress(entry)
        lines.append(f"    {entry.get('subdirectory') or '.':<30.30} {float(sub.get('percent') or 0):5.1f}%"
                     f"  {_int(sub, 'discovered'):>8,} files  {_int(sub, 'failed'):>4,} failed")
    if len(subdirectories) > MAX_SUBDIRECTORIES:
        lines.append(f"    … and {len(subdirectories) - MAX_SUBDIRECTORIES} more subdirectories")
    return [line[:width] for line in lines]


def render_line(session: Mapping[str, Any]) -> str:
    """One plain line (no escape codes), for output that is not a terminal."""
    progress = _progress(session)
    stages = " ".join(f"{label}={_int(progress, key)}" for key, label in STAGES)
    discovered = f"discovered={_int(progress, 'discovered')}"
    if not progress.get("discovery_complete", True):
        discovered += "+"
    return (f"session {session.get('id')} {session.get('state', '?')}: {discovered} {stages}"
            f" failed={_int(progress, 'failed')} {summary(progress, plain=True)}")


def summary(progress: Mapping[str, Any], plain: bool = False) -> str:
    percent = float(progress.get("percent") or 0.0)
    failed = _int(progress, "failed")
    parts = [f"{percent:.1f}%"]
    if not plain:
        parts.append(f"{failed:,} failed")
    eta = progress.get("eta_s")
    parts.append(f"ETA {duration(float(eta))}" if eta is not None else "ETA —")
    return " · ".join(parts) if not plain else " ".join(parts)


def bar(done: int, total: int, width: int) -> str:
    filled = 0 if total <= 0 else min(width, round(width * min(done, total) / total))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def rate(per_second: Any) -> str:
    value = float(per_second or 0.0)
    if value <= 0:
        return "—"
    return f"{value:.1f}/s" if value < 100 else f"{value:,.0f}/s"


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def finished(session: Mapping[str, Any]) -> bool:
    """Cancelled, or done with every stage through: a session is "done" once its files are ingested, while
    embed and faces may still be working on them, so the display follows it to 100%."""
    state = session.get("state")
    if state == "cancelled":
        return True
    return state == "done" and float(_progress(session).get("percent") or 0.0) >= 100.0


def _header(session: Mapping[str, Any]) -> str:
    subdirectories = session.get("subdirectories") or []
    where = str(session.get("path", "?"))
    if subdirectories:
        where += f" ({len(subdirectories)} subdirector{'y' if len(subdirectories) == 1 else 'ies'})"
    return (f"session {session.get('id')} · {where} · {session.get('priority', '?')} priority ·"
            f" {str(session.get('state', '?')).upper()}")


def _progress(holder: Mapping[str, Any]) -> Mapping[str, Any]:
    progress = holder.get("progress")
    return progress if isinstance(progress, Mapping) else {}


def _int(progress: Mapping[str, Any], key: str) -> int:
    try:
        return int(progress.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def _percent(done: int, total: int) -> str:
    return "" if total <= 0 else f"{100 * min(done, total) // total}%"
