"""Text for the answers other than progress: session lists, search hits, readiness, reconcile reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def sessions_table(page: Mapping[str, Any]) -> list[str]:
    sessions = list(page.get("sessions") or [])
    if not sessions:
        return ["no sessions"]
    lines = [f"{'ID':>6}  {'STATE':<11} {'PRIORITY':<8} {'DONE':>6}  {'FILES':>8}  PATH"]
    for s in sessions:
        progress = s.get("progress") or {}
        percent, files = float(progress.get("percent") or 0), int(progress.get("discovered") or 0)
        lines.append(f"{s.get('id', '?'):>6}  {s.get('state', '?'):<11} {s.get('priority', '?'):<8}"
                     f" {percent:5.1f}%  {files:>8,}  {s.get('path', '?')}")
    total = int(page.get("total") or len(sessions))
    if total > len(sessions):
        lines.append(f"({len(sessions)} of {total}; --limit for more)")
    return lines


def directory_listing(listing: Mapping[str, Any], offset: int = 0) -> list[str]:
    """GET /api/v1/browse as a table: image files below each folder (recursive), then its path."""
    where = listing.get("path") or "library roots"
    count = int(listing.get("image_files") or 0)
    lines = [f"{where}: {count:,} image file{'' if count == 1 else 's'}"]
    for entry in listing.get("directories") or []:
        subdirectories = int(entry.get("subdirectories") or 0)
        more = f"  ({subdirectories} subfolder{'' if subdirectories == 1 else 's'})" if subdirectories else ""
        lines.append(f"{int(entry.get('image_files') or 0):>10,}  {entry.get('path', '?')}{more}")
    if len(lines) == 1:
        lines.append("  (no subfolders)")
    shown, total = len(listing.get("directories") or []), int(listing.get("total") or 0)
    if offset + shown < total:
        lines.append(f"  … {total - offset - shown:,} more folders: --offset {offset + shown}")
    return lines


def search_hits(results: Mapping[str, Any]) -> list[str]:
    hits = list(results.get("hits") or [])
    lines = [f"{float(h.get('score') or 0):6.3f}  {h.get('path', '')}" for h in hits] or ["no matches"]
    model = results.get("model") or {}
    if model.get("random_weights"):
        lines.append("warning: CLIP runs with RANDOM weights: these results are meaningless")
    return lines


def readiness(info: Mapping[str, Any], url: str) -> list[str]:
    lines = [f"gateway {url}: {'ready' if info.get('ready') else 'NOT READY'}"]
    for check in info.get("checks") or []:
        detail = f" ({check['detail']})" if check.get("detail") else ""
        lines.append(f"  {'ok  ' if check.get('ok') else 'FAIL'} {check.get('name', '?')}{detail}")
    model = info.get("model")
    if model:
        weights = " RANDOM WEIGHTS" if model.get("random_weights") else ""
        name = f"{model.get('model')}/{model.get('pretrained')}"
        lines.append(f"  model {name} dim {model.get('dim')}{weights}")
    lines.append(f"  images indexed: {int(info.get('indexed') or 0):,}")
    lines.extend(f"  warning: {w}" for w in info.get("warnings") or [])
    return lines


def reconcile_report(report: Mapping[str, Any]) -> list[str]:
    images, faces = report.get("images") or {}, report.get("faces") or {}
    mode = "repair" if report.get("repair") else "dry run"
    lines = [
        f"reconcile {report.get('run_id', '?')} ({mode}): drift {report.get('drift', 0)},"
        f" repaired {report.get('repaired', 0)}",
        f"  images: {images.get('postgres', 0)} in PostgreSQL, {images.get('points', 0)} vectors"
        + ("" if images.get("collection_exists", True) else " (no collection yet)"),
        f"    without a vector: {images.get('missing', 0)} —"
        f" embedded {images.get('embedded_without_vector', 0)},"
        f" stalled {images.get('pending_stalled', 0)}, queued {images.get('pending_queued', 0)},"
        f" failed {images.get('failed', 0)}, no file {images.get('no_file', 0)};"
        f" re-published {images.get('republished', 0)}",
        f"    orphan vectors: {images.get('orphans', 0)}; deleted {images.get('orphans_deleted', 0)}",
        f"    payload drift: {images.get('payload_drift', 0)}; fixed {images.get('payloads_fixed', 0)}",
        f"    without perceptual hashes: {images.get('hashes_missing', 0)};"
        f" recorded {images.get('hashes_recorded', 0)}",
        f"  faces: {faces.get('postgres', 0)} in PostgreSQL, {faces.get('points', 0)} vectors"
        + ("" if faces.get("collection_exists", True) else " (no collection yet)"),
        f"    without a vector: {faces.get('missing', 0)}; restored {faces.get('restored', 0)}",
        f"    orphan vectors: {faces.get('orphans', 0)}; deleted {faces.get('orphans_deleted', 0)}",
        f"    payload drift: {faces.get('payload_drift', 0)}; fixed {faces.get('payloads_fixed', 0)}",
    ]
    for stream in report.get("streams") or []:
        lines.append(f"  stream {stream.get('name')}: {stream.get('messages', 0)} messages")
        for c in stream.get("consumers") or []:
            lines.append(f"    {c.get('name')}: {c.get('pending', 0)} pending, {c.get('ack_pending', 0)}"
                         f" unacknowledged, {c.get('redelivered', 0)} redelivered")
    if report.get("drift") and not report.get("repair"):
        lines.append("run `imgsearch reconcile` (without --dry-run) to repair")
    return lines
