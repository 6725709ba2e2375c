"""``python -m webapp.serve`` (``make run``): the demo a new user opens, Ctrl-C, and restarts."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from rq import Queue, Worker

from webapp.serve import (
    RESTART_FIRST_SECONDS,
    RESTART_MAX_SECONDS,
    STEADY_SECONDS,
    Child,
    base_url,
    parse_arguments,
    port_number,
    restart_delay,
)
from workers.queue import prefixed

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 180
FAQ_TITLE = "Nimbus Notes — Frequently Asked Questions"
EXAMPLE_FILES = sorted(path.name for path in (ROOT / "examples" / "docs").iterdir())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Launcher:
    """``python -m webapp.serve`` in a child process, its output collected line by line."""

    def __init__(self, port: int, env: dict[str, str], demo: bool = True) -> None:
        self.port = port
        self.prefix = env["RAGKIT_QUEUE_PREFIX"]
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "webapp.serve", "--port", str(port)),
                "--demo" if demo else "--no-demo",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self.collect, daemon=True).start()

    def stop(self) -> None:
        """Stop the launcher and so its children (each in a session of its own, out of reach
        of a kill of the launcher alone): SIGTERM first, SIGKILL if that is not enough."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix: str) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            found = [line for line in self.lines if line.startswith(prefix)]
            if found:
                return found[0][len(prefix) :].strip()
            time.sleep(0.2)
        raise AssertionError(f"no {prefix!r} line; output:\n" + self.output())

    def output(self) -> str:
        return "\n".join(self.lines[-60:])


def launcher_env(database_url: str, redis_url: str, folder: Path) -> dict[str, str]:
    """The launcher's settings; queues of its own, so that no other worker takes its jobs."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RAGKIT_HOME": str(folder / "home"),
        "MEDIA_ROOT": str(folder / "media"),
        "RAGKIT_QUEUE_PREFIX": f"serve-{uuid.uuid4().hex[:12]}",
    }
    env.pop("PORT", None)
    return env


@pytest.fixture
def launcher(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Launcher]:
    started = Launcher(free_port(), launcher_env(database_url, redis_url, tmp_path))
    yield started
    started.stop()


def wait_until_ready(launcher: Launcher, url: str, headers: dict[str, str]) -> dict[str, str]:
    """The status of each example document, once none is still waiting or processing.

    Other tests may have added documents of their own to the demo organization: only the
    examples count.
    """
    deadline = time.monotonic() + START_SECONDS
    while True:
        listed = requests.get(
            f"{url}/api/v1/documents/", params={"per_page": 100}, headers=headers, timeout=10
        ).json()["items"]
        statuses = {item["filename"]: item["status"] for item in listed}
        examples = {name: statuses.get(name) for name in EXAMPLE_FILES}
        if all(status in ("ready", "failed") for status in examples.values()):
            return examples
        assert time.monotonic() < deadline, f"{examples}; output:\n" + launcher.output()
        time.sleep(1)


@pytest.mark.slow
def test_run_command_serves_the_demo_answering_and_ctrl_c_stops_everything(
    launcher: Launcher, redis_url: str
) -> None:
    url = launcher.wait_for("demo page:").removesuffix("/demo")
    email, password = launcher.wait_for("demo login:").split(" / ")
    assert url == f"http://127.0.0.1:{launcher.port}"
    page = requests.get(f"{url}/demo", timeout=10)
    assert "Server" not in page.headers  # no banner naming the server and its version
    key = page.text.split('data-widget-key="')[1].split('"')[0]
    signed_in = requests.post(
        f"{url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10
    )
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert set(wait_until_ready(launcher, url, headers).values()) == {"ready"}

    public = f"{url}/api/v1/public/widgets/{key}"
    visitor = {"Origin": f"http://localhost:{launcher.port}"}
    started = requests.post(f"{public}/conversations", json={}, headers=visitor, timeout=10)
    token = {**visitor, "Authorization": f"Bearer {started.json()['token']}"}
    asked = requests.post(
        f"{public}/conversations/{started.json()['conversation_id']}/messages",
        json={"content": "How do I reset my password?"},
        headers=token,
        timeout=60,
    )
    answer = asked.json()["assistant_message"]
    assert not answer["abstained"]
    assert answer["citations"][0]["title"] == FAQ_TITLE
    # The demo documents were ingested before the worker started; it registers once its
    # model is loaded, and handles signals once it waits for jobs (RQ installs its handlers
    # after registering and starting the scheduler).
    connection = redis.Redis.from_url(redis_url)
    wait_for("the worker", lambda: waiting_workers(connection, launcher), launcher=launcher)
    assert len(launched_workers(connection, launcher)) == 1, launcher.output()

    launcher.process.send_signal(signal.SIGINT)

    assert launcher.process.wait(timeout=60) == 0
    with pytest.raises(requests.ConnectionError, match="Connection refused"):
        requests.get(f"{url}/widget.js", timeout=5)
    assert launched_workers(connection, launcher) == [], launcher.output()


def test_the_port_comes_from_the_option_then_port_then_5000(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PORT", raising=False)
    assert parse_arguments([]).port == 5000
    monkeypatch.setenv("PORT", "8123")
    assert parse_arguments([]).port == 8123
    assert parse_arguments(["--port", "9000"]).port == 9000


@pytest.mark.parametrize("text", ["0", "65536", "http", "-1", ""])
def test_a_port_that_is_not_a_port_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a port number"):
        port_number(text)


def test_a_server_on_every_interface_is_announced_on_the_loopback_address() -> None:
    assert base_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert base_url("::1", 8080) == "http://[::1]:8080"
    assert base_url("help.internal", 80) == "http://help.internal:80"


def test_restart_pauses_double_from_the_first_up_to_the_cap() -> None:
    pauses = [restart_delay(failures) for failures in range(1, 10)]

    assert pauses[0] == RESTART_FIRST_SECONDS
    doubled = [min(2 * earlier, RESTART_MAX_SECONDS) for earlier in pauses[:-1]]
    assert pauses[1:] == doubled
    assert pauses[-1] == RESTART_MAX_SECONDS


def exits_at_once(code: int = 3) -> Child:
    return Child("crasher", [sys.executable, "-c", f"raise SystemExit({code})"], dict(os.environ))


def test_a_child_that_keeps_failing_is_started_again_after_ever_longer_pauses() -> None:
    child = exits_at_once()
    now = 1000.0
    child.start(now)
    pauses = []
    for _ in range(7):
        assert child.process is not None
        assert child.process.wait(timeout=30) == 3
        child.check(now)  # notices the exit
        assert child.restart_at is not None
        pauses.append(child.restart_at - now)
        child.check(child.restart_at - 0.01)  # too early: still waiting
        assert child.restart_at is not None
        now = child.restart_at
        child.check(now)  # starts it again
        assert child.restart_at is None

    assert pauses == [restart_delay(failures) for failures in range(1, 8)]
    assert pauses[-1] == RESTART_MAX_SECONDS


def test_a_child_that_dies_after_a_long_run_is_started_again_after_the_first_pause() -> None:
    child = exits_at_once()
    child.start(1000.0)
    child.failures = 5
    assert child.process is not None
    child.process.wait(timeout=30)

    child.check(1000.0 + STEADY_SECONDS + 1)

    assert child.restart_at == 1000.0 + STEADY_SECONDS + 1 + RESTART_FIRST_SECONDS


def process_state(pid: int) -> str | None:
    """The state letter of a process (``Z`` for a zombie), None when it is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_what_a_killed_child_leaves_running_is_stopped_before_it_is_restarted(
    tmp_path: Path,
) -> None:
    """Like a worker's work horse: a grandchild in a process group of its own."""
    pid_file = tmp_path / "grandchild.pid"
    grandchild = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    )
    parent = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {grandchild!r}], process_group=0); "
        "time.sleep(120)"
    )
    child = Child("worker", [sys.executable, "-c", parent], dict(os.environ))
    child.start(time.monotonic())
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the grandchild did not start"
        time.sleep(0.05)
    orphan = int(pid_file.read_text())
    assert child.process is not None

    child.process.kill()
    child.process.wait()
    assert process_state(orphan) not in (None, "Z")
    child.check(time.monotonic())

    deadline = time.monotonic() + 10
    while process_state(orphan) not in (None, "Z"):
        assert time.monotonic() < deadline, "the grandchild still runs"
        time.sleep(0.05)
    assert child.restart_at is not None


class Prober:
    """Asks the web app for ``/widget.js`` every 0.1 s in the background, noting each outcome."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.outcomes: list[tuple[float, bool]] = []
        self.running = True
        self.thread = threading.Thread(target=self.probe, daemon=True)
        self.thread.start()

    def probe(self) -> None:
        while self.running:
            try:
                ok = requests.get(f"{self.url}/widget.js", timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            self.outcomes.append((time.monotonic(), ok))
            time.sleep(0.1)

    def failures(self, since: float) -> int:
        return sum(1 for at, ok in self.outcomes if at >= since and not ok)

    def answered(self, since: float) -> float | None:
        """When the first request made after ``since`` was answered."""
        return next((at for at, ok in self.outcomes if at >= since and ok), None)

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=5)


def wait_for(
    what: str,
    condition: Callable[[], Any],
    seconds: float = START_SECONDS,
    launcher: Launcher | None = None,
) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        output = f"; output:\n{launcher.output()}" if launcher else ""
        assert time.monotonic() < deadline, f"timed out waiting for {what}{output}"
        time.sleep(0.1)
    return found


def launched_workers(connection: redis.Redis, launcher: Launcher) -> list[Worker]:
    """The registered workers taking the launcher's ingest jobs."""
    ingest = Queue(prefixed("ingest", launcher.prefix), connection=connection)
    return Worker.all(queue=ingest)


def waiting_workers(connection: redis.Redis, launcher: Launcher) -> list[Worker]:
    """The launcher's workers that are waiting for jobs."""
    return [w for w in launched_workers(connection, launcher) if w.get_state() == "idle"]


def worker_pids(connection: redis.Redis, launcher: Launcher) -> set[int]:
    """Process ids of the launcher's registered workers that are still running."""
    workers = launched_workers(connection, launcher)
    return {w.pid for w in workers if w.pid and process_state(w.pid)}


def web_app_pid(launcher: Launcher) -> int:
    """The launcher's web app child (``flask ragkit serve``)."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent == launcher.process.pid and b"flask" in command and b"serve" in command:
            return int(entry.name)
    raise AssertionError("no web app child")


@pytest.mark.slow
def test_a_killed_worker_or_web_app_is_started_again_and_the_rest_keeps_answering(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    launcher = Launcher(free_port(), launcher_env(database_url, redis_url, tmp_path), demo=False)
    connection = redis.Redis.from_url(redis_url)
    probe: Prober | None = None
    try:
        url = launcher.wait_for("ragkit is running at").split()[0]
        (first,) = wait_for("the worker", lambda: worker_pids(connection, launcher))
        probe = Prober(url)

        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()
        (second,) = wait_for("a new worker", lambda: worker_pids(connection, launcher) - {first})
        worker_back = time.monotonic() - killed
        assert probe.failures(since=killed) == 0
        web = web_app_pid(launcher)
        assert web == web_app_pid(launcher)  # the web app was never restarted

        os.kill(web, signal.SIGKILL)
        killed = time.monotonic()
        answered = wait_for("the web app again", lambda: probe and probe.answered(killed))
        assert web_app_pid(launcher) != web
        assert second in worker_pids(connection, launcher)  # the worker ran on meanwhile
        output = "\n".join(launcher.lines)
        assert "the worker exited (killed by SIGKILL); restarting it in 1 s" in output
        assert "the web app exited (killed by SIGKILL); restarting it in 1 s" in output
        print(
            f"\nsupervisor: worker SIGKILLed, a new one registered after {worker_back:.1f} s, web "
            f"requests failed meanwhile 0; web app SIGKILLed, answering again after "
            f"{answered - killed:.1f} s ({probe.failures(since=killed)} probes failed)"
        )

        launcher.process.send_signal(signal.SIGTERM)
        assert launcher.process.wait(timeout=60) == 0
        assert not worker_pids(connection, launcher)
        assert process_state(second) is None
    finally:
        if probe is not None:
            probe.stop()
        launcher.stop()
        connection.close()
