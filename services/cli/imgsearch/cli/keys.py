"""``imgsearch keys create|list|revoke``: API keys, straight in PostgreSQL (no key is needed for that; being
able to reach the database is the credential). The database is IMGSEARCH_POSTGRES__URL, or the embedded
PostgreSQL the runner keeps under IMGSEARCH_DATA_DIR (it must be running).

Also ``python -m imgsearch.cli.keys ...`` where httpx is not installed (the gateway's image). The settings and
database modules are imported when a keys command runs: the REST-only CLI image has neither."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from imgsearch.common.db.api_keys import ApiKeyRecord
    from imgsearch.common.settings import Settings

DESCRIPTION = ("API keys for the gateway (needed when authentication is on). Uses IMGSEARCH_POSTGRES__URL, "
               "or the embedded PostgreSQL under IMGSEARCH_DATA_DIR.")


class KeysError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def add_keys_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_actions(commands.add_parser(
        "keys", help="API keys: create, list, revoke (talks to PostgreSQL directly)", description=DESCRIPTION,
    ))


def add_actions(keys: argparse.ArgumentParser) -> None:
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key; prints it (only this once) on stdout")
    create.add_argument("name", help="what the key is for, e.g. 'laptop' or 'backup-script'")
    actions.add_parser("list", help="every key: id, name, created, last used, revoked")
    revoke = actions.add_parser("revoke", help="revoke a key (and end its UI sessions)")
    revoke.add_argument("id", type=int)


def run_keys(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Exit codes as the rest of the CLI: 0 done, 1 refused (bad name, unknown id), 2 no database."""
    from imgsearch.common.errors import ImgSearchError
    from imgsearch.common.settings import load_settings

    try:
        return asyncio.run(_run(args, out, err, database_url(load_settings())))
    except KeysError as exc:
        err.write(f"imgsearch: {exc.message}\n")
        return exc.exit_code
    except ImgSearchError as exc:
        err.write(f"imgsearch: {' '.join(exc.message.split())}\n")  # one line (psycopg's have several)
        return 2 if exc.http_status >= 500 else 1


def database_url(settings: Settings) -> str:
    if settings.postgres.url:
        return settings.postgres.url
    from imgsearch.common.infra.postgres import EmbeddedPostgres

    embedded = EmbeddedPostgres(settings.data_dir / "postgres")
    if not embedded.socket_exists:
        raise KeysError(
            f"the embedded PostgreSQL in {embedded.pgdata} is not running: start imgsearch first "
            "(`python -m imgsearch.runner`, same IMGSEARCH_DATA_DIR) or set IMGSEARCH_POSTGRES__URL", 2,
        )
    return embedded.url


async def _run(args: argparse.Namespace, out: TextIO, err: TextIO, url: str) -> int:
    from imgsearch.common.db.api_keys import ApiKeyRepository
    from imgsearch.common.db.pool import open_pool

    pool = await open_pool(url, 1, 1)  # applies pending migrations, like every service
    try:
        keys = ApiKeyRepository(pool)
        if args.keys_command == "create":
            record, key = await keys.create(args.name)
            out.write(key + "\n")
            err.write(f"API key {record.id} ({record.name}) created. It is shown only this once: keep it "
                      "now (e.g. export IMGSEARCH_API_KEY=<key>)\n")
        elif args.keys_command == "list":
            out.write("\n".join(keys_table(await keys.list_all())) + "\n")
        else:
            record = await keys.revoke(args.id)
            out.write(f"API key {record.id} ({record.name}) revoked at {_when(record.revoked_at)};"
                      " the gateway refuses it within seconds\n")
        return 0
    finally:
        await pool.close()


def keys_table(records: Sequence[ApiKeyRecord]) -> list[str]:
    if not records:
        return ["no API keys yet: create one with `imgsearch keys create NAME`"]
    rows = [("ID", "NAME", "CREATED", "LAST USED", "REVOKED")] + [
        (str(r.id), r.name, _when(r.created_at), _when(r.last_used_at) or "never", _when(r.revoked_at) or "-")
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4]])
            for row in rows]


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value is not None else ""


def main(argv: Sequence[str] | None = None) -> int:
    top = argparse.ArgumentParser(prog="python -m imgsearch.cli.keys", description=DESCRIPTION)
    add_actions(top)
    return run_keys(top.parse_args(argv), sys.stdout, sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
