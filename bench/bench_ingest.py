"""What priority scheduling buys: a small high-priority session made while a bulk import runs. Run by
`make bench-ingest`.

The embedded stack as separate processes (bench/faults/processes.py: nats-server, embedded PostgreSQL,
``python -m imgsearch.ingest``, ``.embed``, ``.gateway``; qdrant-edge inside embed; CLIP ViT-B-32 with random
weights, speed does not depend on them; the faces service is not started, so "done" is "embedded").
A library of distinct photos from ../shared/data/{scenes,faces} (hard links, else copies) is imported
through ``POST /api/v1/sessions``: a bulk session of N photos, and once PERCENT of it is embedded a session
of 10 other photos. Twice, each on a fresh stack:

- priorities: the 10 photos as a ``high`` session, the settings as shipped (stride scheduling 64:16:4:1,
  ``IMGSEARCH_INGEST__MAX_DOWNSTREAM_BACKLOG`` 256: ingest claims only while the embed queue is short);
- naive: priorities out of effect: the 10 photos as a second ``bulk`` session (ingest alternates between
  the two, as one FIFO per session would) and no downstream bound (``MAX_DOWNSTREAM_BACKLOG=0``), so ingest
  reads ahead as fast as it can and the 10 images wait in the embed queue behind every bulk image read
  before them.

Latency of the small session: its ``created_at`` to the last ``images.embedded_at`` of its files
(PostgreSQL, one clock). The bulk session's progress in that window (images embedded, files ingested)
shows it is not starved. bulk_rate: the bulk session's files embedded per second, creation to last
embedded (the priorities run). Last line:
``ingest: high_latency=Xs naive=Ys ratio=Rx bulk_rate=B/s``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import psycopg
from faults.processes import Stack

from imgsearch.common.ids import content_hash

_PHOTOS = {".jpg", ".jpeg", ".png"}
_SERVICES = ("ingest", "embed", "gateway")


@dataclass(frozen=True)
class Library:
    root: Path
    warmup: Path  # two photos ingested first: every service is up before the clock starts
    bulk: Path
    high: Path
    bulk_files: int
    high_files: int


@dataclass(frozen=True)
class Outcome:
    name: str
    latency_s: float  # the small session: created → all its images embedded
    bulk_embedded_during: int  # bulk images embedded in that window
    bulk_ingested_during: int  # bulk files ingested in that window
    embed_queue_at_start: int  # bulk images ingested, not yet embedded, when the small session was made
    bulk_rate: float  # bulk files embedded per second, creation to last embedded
    bulk_s: float


def _photos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _PHOTOS
                  and not p.name.startswith("."))


def _place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def build_library(shared: Path, root: Path, bulk: int, high: int) -> Library:
    """Distinct content throughout (the image id is the content hash): scene photos alternating with
    portraits; the small session's photos are the last ones picked (not in the bulk)."""
    faces, scenes = _photos(shared / "faces"), _photos(shared / "scenes")
    mixed = [p for pair in zip_longest(scenes[::2], faces) for p in pair if p is not None]
    seen: set[str] = set()
    picked: list[Path] = []
    for source in mixed:
        if len(picked) == 2 + bulk + high:
            break
        image_id = content_hash(source)
        if image_id not in seen:
            seen.add(image_id)
            picked.append(source)
    if len(picked) < 2 + bulk + high:
        raise SystemExit(f"only {len(picked)} distinct photos in {shared}/faces and scenes")
    folders = [("warmup", picked[:2]), ("bulk", picked[2:2 + bulk]), ("high", picked[2 + bulk:])]
    for name, sources in folders:
        for n, source in enumerate(sources):
            _place(source, root / name / f"{n:04d}{source.suffix.lower()}")
    return Library(root, root / "warmup", root / "bulk", root / "high", bulk, high)


def _say(t0: float, text: str) -> None:
    print(f"[{time.monotonic() - t0:6.1f}s] {text}", flush=True)


async def create_session(stack: Stack, folder: Path, priority: str, timeout_s: float = 120.0) -> int:
    """POST /api/v1/sessions, retried while the gateway starts; the session id."""
    body = json.dumps({"path": str(folder), "priority": priority}).encode()

    def post() -> int:
        request = urllib.request.Request(f"{stack.gateway_url}/api/v1/sessions", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(json.loads(answer.read())["id"])

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await asyncio.to_thread(post)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def counts(conn: psycopg.AsyncConnection, session_id: int) -> tuple[int, int, int]:
    """(files discovered, files ingested, images no longer pending embed) of a session."""
    row = await (await conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE sf.state IN ('ingested', 'unchanged')),"
        " count(*) FILTER (WHERE i.embed_status IS NOT NULL AND i.embed_status <> 'pending')"
        " FROM session_files sf LEFT JOIN images i ON i.id = sf.image_id WHERE sf.session_id = %s",
        (session_id,),
    )).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def wait_embedded(conn: psycopg.AsyncConnection, session_id: int, images: float, timeout_s: float
                        ) -> tuple[int, int, int]:
    """Until at least ``images`` of the session's images are embedded; its counts then."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = await counts(conn, session_id)
        if now[2] >= images:
            return now
        if time.monotonic() > deadline:
            raise SystemExit(f"session {session_id}: not {images:.0f} images embedded in {timeout_s:.0f}s")
        await asyncio.sleep(0.05)


async def window(conn: psycopg.AsyncConnection, high: int, bulk: int) -> tuple[float, int, int]:
    """(latency of the small session, bulk images embedded and bulk files ingested meanwhile)."""
    row = await (await conn.execute(
        "WITH w AS (SELECT s.created_at AS t0, max(i.embedded_at) AS t1 FROM ingest_sessions s"
        " JOIN session_files sf ON sf.session_id = s.id JOIN images i ON i.id = sf.image_id"
        " WHERE s.id = %(high)s GROUP BY s.created_at)"
        " SELECT extract(epoch FROM w.t1 - w.t0),"
        " (SELECT count(*) FROM session_files sf JOIN images i ON i.id = sf.image_id"
        "  WHERE sf.session_id = %(bulk)s AND i.embedded_at BETWEEN w.t0 AND w.t1),"
        " (SELECT count(*) FROM session_files sf"
        "  WHERE sf.session_id = %(bulk)s AND sf.done_at BETWEEN w.t0 AND w.t1) FROM w",
        {"high": high, "bulk": bulk},
    )).fetchone()
    assert row is not None
    return float(row[0]), int(row[1]), int(row[2])


async def bulk_rate(conn: psycopg.AsyncConnection, bulk: int) -> tuple[float, float]:
    """(files embedded per second, seconds): the bulk session's creation to its last image embedded."""
    row = await (await conn.execute(
        "SELECT count(*), extract(epoch FROM max(i.embedded_at) - s.created_at) FROM ingest_sessions s"
        " JOIN session_files sf ON sf.session_id = s.id JOIN images i ON i.id = sf.image_id"
        " WHERE s.id = %s GROUP BY s.created_at", (bulk,),
    )).fetchone()
    assert row is not None
    return int(row[0]) / float(row[1]), float(row[1])


async def scenario(name: str, library: Library, work: Path, args: argparse.Namespace, t0: float) -> Outcome:
    naive = name == "naive"
    stack = Stack(work, library.root, extra_env={
        "IMGSEARCH_WATCH__ENABLED": "false",  # sessions only: nothing else reads the library
        **({"IMGSEARCH_INGEST__MAX_DOWNSTREAM_BACKLOG": "0"} if naive else {}),
    })
    pg_url = await asyncio.to_thread(stack.start_infrastructure)
    try:
        stack.start_services(_SERVICES)
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            warmup = await create_session(stack, library.warmup, "normal")
            await wait_embedded(conn, warmup, 2, args.timeout_s)
            _say(t0, f"{name}: services up (pids "
                 + ", ".join(f"{n} {s.pid}" for n, s in stack.services.items()) + ")")
            bulk = await create_session(stack, library.bulk, "bulk")
            now = await wait_embedded(conn, bulk, args.at * library.bulk_files, args.timeout_s)
            small = await create_session(stack, library.high, "bulk" if naive else "high")
            queued = now[1] - now[2]
            _say(t0, f"{name}: bulk {now[2]}/{library.bulk_files} embedded, {now[1]} ingested "
                 f"→ {library.high_files} photos as a {'bulk' if naive else 'high'}-priority session")
            await wait_embedded(conn, small, library.high_files, args.timeout_s)
            latency, embedded_during, ingested_during = await window(conn, small, bulk)
            _say(t0, f"{name}: the {library.high_files} photos embedded {latency:.1f}s after their session "
                 f"was made; meanwhile bulk +{embedded_during} embedded, +{ingested_during} ingested")
            await wait_embedded(conn, bulk, library.bulk_files, args.timeout_s)
            rate, seconds = await bulk_rate(conn, bulk)
            _say(t0, f"{name}: bulk of {library.bulk_files} embedded in {seconds:.1f}s ({rate:.1f} files/s)")
        exits = stack.unexpected_exits()
        if exits:
            raise SystemExit(f"{name}: services exited by themselves: {exits}")
    finally:
        await asyncio.to_thread(stack.stop_all)
    return Outcome(name, latency, embedded_during, ingested_during, queued, rate, seconds)


async def run(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=args.workdir))
    try:
        library = await asyncio.to_thread(build_library, args.data, work / "library", args.bulk, args.high)
        _say(t0, f"work folder {work}; bulk {library.bulk_files} photos, then {library.high_files} "
             f"at {args.at:.0%} embedded")
        prio = await scenario("priorities", library, work / "priorities", args, t0)
        naive = await scenario("naive", library, work / "naive", args, t0)
    finally:
        if args.keep:
            print(f"kept {work} (logs under */logs/)", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    for o in (prio, naive):
        print(f"  {o.name:10s} latency {o.latency_s:6.1f}s  bulk meanwhile +{o.bulk_embedded_during} "
              f"embedded +{o.bulk_ingested_during} ingested  embed queue at start {o.embed_queue_at_start}  "
              f"bulk {o.bulk_rate:.1f} files/s ({o.bulk_s:.0f}s)", flush=True)
    starved = prio.bulk_embedded_during == 0 and prio.bulk_ingested_during == 0
    if starved:
        print("FAILED: the bulk import did not progress while the high-priority session ran", flush=True)
    _say(t0, "done")
    print(f"ingest: high_latency={prio.latency_s:.1f}s naive={naive.latency_s:.1f}s "
          f"ratio={naive.latency_s / prio.latency_s:.1f}x bulk_rate={prio.bulk_rate:.1f}/s", flush=True)
    return 1 if starved else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/bench_ingest.py", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--bulk", type=int, default=600, help="photos in the bulk session")
    parser.add_argument("--high", type=int, default=10, help="photos in the small session")
    parser.add_argument("--at", type=float, default=0.10, help="share of the bulk embedded when it is made")
    parser.add_argument("--timeout-s", type=float, default=600.0, help="for each wait")
    parser.add_argument("--workdir", type=Path, default=None, help="parent of the work folder")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and the service logs")
    args = parser.parse_args()
    if not (args.data / "scenes").is_dir() or not (args.data / "faces").is_dir():
        print(f"no {args.data}/scenes or faces: pass --data", file=sys.stderr)
        return 2
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
