"""``python -m webapp.serve`` (``make run``): the demo a new user opens, and Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from rq import Worker

from webapp.serve import base_url, parse_arguments, port_number

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

    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port = port
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webapp.serve", "--port", str(port), "--demo"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self.collect, daemon=True).start()

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
        raise AssertionError(f"no {prefix!r} line; output:\n" + "\n".join(self.lines[-40:]))


@pytest.fixture
def launcher(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Launcher]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RAGKIT_HOME": str(tmp_path / "home"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    env.pop("PORT", None)
    started = Launcher(free_port(), env)
    yield started
    if started.process.poll() is None:
        started.process.kill()
        started.process.wait()


def wait_until_ready(url: str, headers: dict[str, str]) -> dict[str, str]:
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
        assert time.monotonic() < deadline, examples
        time.sleep(1)


@pytest.mark.slow
def test_run_command_serves_the_demo_answering_and_ctrl_c_stops_everything(
    launcher: Launcher, redis_url: str
) -> None:
    url = launcher.wait_for("demo page:").removesuffix("/demo")
    email, password = launcher.wait_for("demo login:").split(" / ")
    assert url == f"http://127.0.0.1:{launcher.port}"
    page = requests.get(f"{url}/demo", timeout=10)
    key = page.text.split('data-widget-key="')[1].split('"')[0]
    signed_in = requests.post(
        f"{url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10
    )
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert set(wait_until_ready(url, headers).values()) == {"ready"}

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
    connection = redis.Redis.from_url(redis_url)
    assert len(Worker.all(connection=connection)) == 1

    launcher.process.send_signal(signal.SIGINT)

    assert launcher.process.wait(timeout=60) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/widget.js", timeout=5)
    assert Worker.all(connection=connection) == []


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
