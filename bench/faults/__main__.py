"""``make test-faults`` (``PYTHONPATH=bench python -m faults``): the embedded stack as separate processes.

1. Robustness: ingest the 99 files of ../shared/data/robustness, then one good photo queued behind them.
   Each file must end ingested (and through embed and faces) or failed with a reason, no service may
   die, and the good photo must be embedded and analysed.
2. Faults: ingest N photos of distinct content; meanwhile SIGKILL the embed worker (twice) and the faces
   worker while they hold a batch (messages delivered, not acked) and restart them with the same command,
   and stop nats-server (SIGTERM) and start it again on the same port and store. Once everything settled,
   images in PostgreSQL, vectors in Qdrant and distinct files must agree, nothing twice.

Prints last ``faults: lost=L duplicated=D definite=X/99``; exit status 0 only when L=0, D=0, X=99 and no
service died on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nats
import psycopg
from nats.js import JetStreamContext

from faults.library import Library, build_library
from faults.observe import CONSUMERS, Accounting, Progress, account, backlog, file_states, in_flight, progress
from faults.processes import Stack

ROBUSTNESS_FILES = 99


@dataclass
class Fault:
    name: str
    target: str  # embed | faces | nats
    at: float  # share of the images through the watched stage when it fires
    fired: str = ""  # what happened, once it fired

    def due(self, done: Progress, total: int) -> bool:
        """embed/faces: by images through that stage; nats: by files ingested (so ingest is in flight too)."""
        reached = {"faces": done.faces, "embed": done.embedded, "nats": done.files}[self.target]
        return not self.fired and reached >= self.at * total


@dataclass
class Report:
    definite: int = 0
    problems: list[str] | None = None

    def problem(self, text: str) -> None:
        self.problems = [*(self.problems or []), text]
        print(f"  PROBLEM: {text}", flush=True)


async def _quiet(exc: Exception) -> None:
    pass


def _say(t0: float, text: str) -> None:
    print(f"[{time.monotonic() - t0:6.1f}s] {text}", flush=True)


async def _post_ingest(stack: Stack, folder: Path, timeout_s: float = 120.0) -> None:
    """POST /api/v1/ingest, retried while the gateway starts."""
    body = json.dumps({"path": str(folder)}).encode()

    def post() -> str:
        request = urllib.request.Request(f"{stack.gateway_url}/api/v1/ingest", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return str(answer.read().decode())

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await asyncio.to_thread(post)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _drained(js: JetStreamContext) -> bool:
    for stream, durable in CONSUMERS:
        if await backlog(js, stream, durable) != 0:
            return False
    return True


def _check_alive(stack: Stack, report: Report, t0: float, restart: bool) -> None:
    for name, code in stack.unexpected_exits().items():
        report.problem(f"{name} (pid {stack.services[name].pid}) exited by itself with status {code}:\n"
                       + stack.services[name].log_tail())
        if restart:
            _say(t0, f"restarting {name}")
            stack.restart(name)


async def robustness(stack: Stack, library: Library, conn: psycopg.AsyncConnection, report: Report,
                     t0: float, timeout_s: float) -> None:
    pids = {name: s.pid for name, s in stack.services.items()}
    await _post_ingest(stack, library.robustness_dir)
    await _post_ingest(stack, library.good.parent)  # queued behind the 99
    _say(t0, f"robustness: ingest of {len(library.robustness)} files, then {library.good.name}, requested")
    paths = [str(p) for p in library.robustness]
    deadline = time.monotonic() + timeout_s
    while True:
        states = await file_states(conn, [*paths, str(library.good)])
        good = states.get(str(library.good))
        report.definite = sum(1 for p in paths if p in states and states[p].definite)
        if report.definite == ROBUSTNESS_FILES and good is not None and good.definite:
            break
        if stack.unexpected_exits() or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    failed = sum(1 for p in paths if p in states and states[p].status == "failed")
    _say(t0, f"robustness: {report.definite}/{ROBUSTNESS_FILES} definite ({failed} failed with a reason, "
         f"{sum(1 for p in paths if p not in states)} without a row)")
    for path in paths:
        state = states.get(path)
        if state is None or not state.definite:
            print(f"  not definite: {path}: {state}", flush=True)
    if good is None or good.embed_status != "embedded" or good.faces_status != "done":
        report.problem(f"the good photo queued behind the 99 was not processed: {good}")
    else:
        _say(t0, "robustness: the good photo behind them is embedded and analysed")
    _check_alive(stack, report, t0, restart=True)
    changed = {n: (pid, stack.services[n].pid) for n, pid in pids.items() if stack.services[n].pid != pid}
    if changed:
        report.problem(f"services restarted during the robustness ingest: {changed}")
    else:
        _say(t0, "robustness: no service restarted (pids " + ", ".join(f"{n} {p}" for n, p in pids.items())
             + ")")


async def faults(stack: Stack, library: Library, conn: psycopg.AsyncConnection, js: JetStreamContext,
                 report: Report, t0: float, timeout_s: float, outage_s: float) -> None:
    plan = [Fault("SIGKILL embed", "embed", 0.15), Fault("SIGKILL faces", "faces", 0.10),
            Fault("stop nats-server", "nats", 0.60), Fault("SIGKILL embed again", "embed", 0.70)]
    paths = [str(p) for p in library.batch]
    ids = sorted(set(library.batch.values()))
    await _post_ingest(stack, library.batch_dir)
    _say(t0, f"faults: ingest of {len(paths)} files ({len(ids)} distinct) requested")
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        done = await progress(conn, paths, ids)
        line = f"files {done.files}/{len(paths)}, embedded {done.embedded}, faces {done.faces}"
        if line != last:
            _say(t0, line)
            last = line
        for fault in plan:
            if fault.due(done, len(ids)):
                await _fire(stack, js, fault, done, len(ids), t0, outage_s)
        _check_alive(stack, report, t0, restart=True)
        if done.settled(len(paths), len(ids)) and all(f.fired for f in plan) and await _drained(js):
            _say(t0, "faults: settled (PostgreSQL nothing pending, consumers drained)")
            break
        await asyncio.sleep(0.2)
    else:
        report.problem(f"not settled within {timeout_s:.0f}s: {last}")
    for fault in plan:
        print(f"  {fault.name}: {fault.fired or 'never fired'}", flush=True)
        if not fault.fired.startswith("done"):
            report.problem(f"{fault.name} did not happen while work was in flight ({fault.fired or 'never'})")


async def _fire(stack: Stack, js: JetStreamContext, fault: Fault, done: Progress, total: int,
                t0: float, outage_s: float) -> None:
    if fault.target == "nats":
        at = f"files {done.files}/{total}, embedded {done.embedded}/{total}, faces {done.faces}/{total}"
        _say(t0, f"{fault.name} ({at})")
        await asyncio.to_thread(stack.restart_nats, outage_s)
        fault.fired = f"done at {at}; down {outage_s:.0f}s, restarted on the same port and store"
        _say(t0, "nats-server started again on the same port and store")
        return
    stage_done = done.faces if fault.target == "faces" else done.embedded
    holding = await in_flight(js, "IMGSEARCH_EVENTS", fault.target)
    if holding == 0:  # between batches: wait for the next one, unless the stage is through
        if stage_done >= total:
            fault.fired = "stage finished before a batch was caught in flight"
        return
    service = stack.services[fault.target]
    old = service.pid
    await asyncio.to_thread(service.kill)
    service.start()
    fault.fired = (f"done at {fault.target} {stage_done}/{total} with {holding} messages delivered and not "
                   f"acked; pid {old} killed, restarted as pid {service.pid}")
    _say(t0, f"{fault.name}: {fault.fired}")


async def run(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="faults-", dir=args.workdir))
    library = await asyncio.to_thread(build_library, args.data, work / "library", args.count)
    _say(t0, f"work folder {work}; {len(library.batch)} distinct photos for the fault run")
    stack = Stack(work, library.root, extra_env={
        "IMGSEARCH_CLIP__BATCH_SIZE": str(args.batch_size),
        "IMGSEARCH_FACES__BATCH_SIZE": "8",
        # A killed worker's messages come back after ack_wait: short, so the run is not mostly waiting.
        "IMGSEARCH_CONSUMER__ACK_WAIT_S": str(args.ack_wait_s),
        "IMGSEARCH_CONSUMER__BACKOFF_S": "[1.0, 2.0, 5.0, 10.0]",
    })
    report = Report()
    accounting = Accounting(lost=len(set(library.batch.values())))
    pg_url = await asyncio.to_thread(stack.start_infrastructure)
    try:
        stack.start_services()
        _say(t0, "started " + ", ".join(f"{n} (pid {s.pid})" for n, s in stack.services.items())
             + f"; nats {stack.nats.url}")
        nc = await nats.connect(stack.nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                error_cb=_quiet)  # the outage is ours: no tracebacks
        try:
            async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
                await robustness(stack, library, conn, report, t0, args.robustness_timeout_s)
                await faults(stack, library, conn, nc.jetstream(), report, t0, args.timeout_s, args.outage_s)
                await asyncio.to_thread(stack.stop_services)  # the writers let go of the shards
                wanted = {str(p): i for p, i in library.batch.items()}
                accounting = await account(conn, stack.vectors_dir, wanted)
        finally:
            await nc.close()
    finally:
        await asyncio.to_thread(stack.stop_all)
    for note in accounting.notes:
        print(f"  {note}", flush=True)
    if args.keep:
        print(f"  kept {work} (logs under logs/)", flush=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
    for problem in report.problems or []:
        print(f"FAILED: {problem.splitlines()[0]}", flush=True)
    _say(t0, "done")
    print(f"faults: lost={accounting.lost} duplicated={accounting.duplicated} "
          f"definite={report.definite}/{ROBUSTNESS_FILES}", flush=True)
    ok = accounting.lost == 0 and accounting.duplicated == 0 and report.definite == ROBUSTNESS_FILES
    return 0 if ok and not report.problems else 1


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--count", type=int, default=500, help="distinct photos in the fault run")
    parser.add_argument("--batch-size", type=int, default=16, help="embed batch size")
    parser.add_argument("--ack-wait-s", type=float, default=30.0)
    parser.add_argument("--outage-s", type=float, default=3.0, help="how long nats-server stays down")
    parser.add_argument("--robustness-timeout-s", type=float, default=600.0)
    parser.add_argument("--timeout-s", type=float, default=1500.0, help="for the fault run to settle")
    parser.add_argument("--workdir", type=Path, default=None, help="parent of the work folder (short path)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and the service logs")
    args = parser.parse_args()
    if not (args.data / "robustness" / "MANIFEST.tsv").exists():
        print(f"no {args.data}/robustness/MANIFEST.tsv: pass --data", file=sys.stderr)
        return 2
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
