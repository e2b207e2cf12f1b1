"""The stack under test as separate OS processes: nats-server and PostgreSQL, then one process per service,
each started with the same command line again after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from imgsearch.common.infra.nats_server import NatsServer, free_port
from imgsearch.common.infra.postgres import EmbeddedPostgres

SERVICES = ("ingest", "embed", "faces", "gateway")


@dataclass
class Service:
    """``python -m imgsearch.<name>`` with the stack's environment; output appended to logs/<name>.log."""

    name: str
    env: dict[str, str]
    log_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)  # every process started for it, in order

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{self.name}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"imgsearch.{self.name}"], env=self.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.pids.append(self.proc.pid)

    @property
    def pid(self) -> int:
        return -1 if self.proc is None else self.proc.pid

    def exit_code(self) -> int | None:
        """None while it runs."""
        return None if self.proc is None else self.proc.poll()

    def kill(self) -> None:
        """SIGKILL: no drain, no ack, no close; whatever it held in flight is the server's to redeliver."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout_s: float = 60.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 15) -> str:
        path = self.log_dir / f"{self.name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Stack:
    """nats-server on a fixed port and store dir (a restart keeps JetStream's state), embedded PostgreSQL,
    and the services, under one work folder."""

    def __init__(self, work: Path, library: Path, extra_env: dict[str, str] | None = None) -> None:
        self.work = work
        self.data_dir = work / "data"
        self.logs = work / "logs"
        self.nats = NatsServer(work / "nats", port=free_port())
        self.postgres = EmbeddedPostgres(work / "pg")
        self.http_port = free_port()
        self.library = library
        self.extra_env = extra_env or {}
        self.services: dict[str, Service] = {}

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def vectors_dir(self) -> Path:
        return self.data_dir / "vectors"

    def start_infrastructure(self) -> str:
        self.nats.start()
        return self.postgres.start()

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "IMGSEARCH_DATA_DIR": str(self.data_dir),
            "IMGSEARCH_LIBRARY_ROOTS": json.dumps([str(self.library)]),
            "IMGSEARCH_NATS__URL": self.nats.url,
            "IMGSEARCH_POSTGRES__URL": self.postgres.url,
            "IMGSEARCH_HTTP__PORT": str(self.http_port),
            "IMGSEARCH_GRPC__PORT": str(free_port()),
            "IMGSEARCH_CLIP__PRETRAINED": "random",  # explicit opt-in: no weights needed to count vectors
            "IMGSEARCH_CLUSTERING__INTERVAL_S": "0",
            **self.extra_env,
        }

    def start_services(self, names: tuple[str, ...] = SERVICES) -> None:
        env = self.env()
        for name in names:
            service = Service(name, env, self.logs)
            service.start()
            self.services[name] = service

    def restart(self, name: str) -> None:
        self.services[name].start()

    def restart_nats(self, outage_s: float) -> None:
        """SIGTERM nats-server, stay down for outage_s, start it again on the same port and store dir."""
        self.nats.stop()
        time.sleep(outage_s)
        self.nats.start()

    def unexpected_exits(self) -> dict[str, int]:
        return {name: code for name, s in self.services.items() if (code := s.exit_code()) is not None}

    def stop_services(self, names: tuple[str, ...] = SERVICES) -> None:
        for name in names:
            if name in self.services:
                self.services[name].stop()

    def stop_all(self) -> None:
        self.stop_services()
        self.nats.stop()
        self.postgres.stop()
