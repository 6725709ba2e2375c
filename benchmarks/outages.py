"""How the whole product rides out faults: the database down, Redis down, the worker killed.

Runs ``python -m webapp.serve --no-demo`` (web app and one worker under the supervisor) on a
PostgreSQL and a Redis of its own (``tests.outage_servers``), signs up, then for each fault:
uploads a few documents, causes the fault while they are queued or processing, ends it after
``--outage-seconds`` (the killed worker is brought back by the supervisor), and waits for every
accepted document to end ``ready``. Meanwhile a client asks ``GET /api/v1/documents/`` every
0.1 s. Per fault it reports the requests made while the fault lasted and how they were answered
(503 with the JSON error shape is expected; anything else is an error), the slowest of them, the
seconds from the end of the fault to the first request answered 200, the seconds until every
document was ready, the documents lost (accepted but not ready within ``--deadline``) and the
supervisor's restarts. Prints the figures and writes ``benchmarks/results/outages.json``.

    python -m benchmarks.outages [--outage-seconds 5] [--documents 3] [--deadline 240]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from redis import Redis
from rq import Worker

from benchmarks.common import RESULTS, Run, print_table
from tests.outage_servers import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 240
PASSWORD = "outage benchmark password"
ERROR_FIELDS = {"code", "status", "message", "errors"}


@dataclass
class Answer:
    at: float
    status: int  # 0: no answer at all (connection refused, timeout)
    seconds: float
    shaped: bool  # a JSON body with the error shape (or any 2xx)


class Prober:
    """Asks for one page of documents every 0.1 s in a background thread."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.answers: list[Answer] = []
        self.running = True
        self.thread = threading.Thread(target=self.probe, daemon=True)
        self.thread.start()

    def probe(self) -> None:
        while self.running:
            began = time.monotonic()
            try:
                response = requests.get(
                    f"{self.url}/api/v1/documents/?per_page=1", headers=self.headers, timeout=30
                )
                status, shaped = response.status_code, shape_of(response)
            except requests.RequestException:
                status, shaped = 0, False
            self.answers.append(Answer(began, status, time.monotonic() - began, shaped))
            time.sleep(0.1)

    def between(self, start: float, end: float) -> list[Answer]:
        return [answer for answer in self.answers if start <= answer.at < end]

    def first_ok_after(self, moment: float, deadline: float) -> float:
        """Seconds from ``moment`` to the first request made after it that was answered 200."""
        while time.monotonic() < deadline:
            found = [a for a in self.answers if a.at >= moment and a.status == 200]
            if found:
                return round(found[0].at + found[0].seconds - moment, 2)
            time.sleep(0.05)
        raise AssertionError("the web app did not answer 200 again")

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=35)


def shape_of(response: requests.Response) -> bool:
    if response.ok:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) >= ERROR_FIELDS


class Launcher:
    """``python -m webapp.serve`` with its output in a log file."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.log = folder / "serve.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "webapp.serve", "--no-demo", "--port", str(env["PORT"])],
                cwd=folder,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def restarts(self) -> int:
        return self.output().count("restarting it in")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, condition: Callable[[], Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return found


def sign_up(url: str) -> dict[str, str]:
    email = f"outages-{uuid.uuid4().hex[:8]}@example.com"
    account = {"email": email, "password": PASSWORD, "organization": "Outage Benchmark"}
    requests.post(f"{url}/api/v1/auth/register", json=account, timeout=30).raise_for_status()
    signed_in = requests.post(
        f"{url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    )
    signed_in.raise_for_status()
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


def upload(url: str, headers: dict[str, str], folder: Path, count: int) -> list[str]:
    """``count`` new text documents of ~60 paragraphs; the ids of those accepted."""
    ids = []
    for _ in range(count):
        marker = uuid.uuid4().hex[:8]
        text = "\n\n".join(
            f"Guide {marker}, section {n}. Customers who see error E-{1000 + n} restart the "
            f"sync client, check the proxy of region {n % 11} and write to support."
            for n in range(60)
        )
        path = folder / f"guide-{marker}.txt"
        path.write_text(text)
        with path.open("rb") as handle:
            response = requests.post(
                f"{url}/api/v1/documents/", files={"file": handle}, headers=headers, timeout=60
            )
        if response.status_code == 201:
            ids.append(response.json()["id"])
    return ids


def statuses(url: str, headers: dict[str, str], ids: list[str]) -> dict[str, str]:
    try:
        listed = requests.get(
            f"{url}/api/v1/documents/", params={"per_page": 100}, headers=headers, timeout=30
        ).json()["items"]
    except (requests.RequestException, ValueError, KeyError):
        return {}
    found = {item["id"]: item["status"] for item in listed}
    return {document: found.get(document, "missing") for document in ids}


def worker_pids(connection: Redis) -> set[int]:
    alive = set()
    for worker in Worker.all(connection=connection):
        if worker.pid and Path(f"/proc/{worker.pid}").exists():
            alive.add(worker.pid)
    return alive


def measure_fault(
    name: str,
    begin: Callable[[], None],
    end: Callable[[], None],
    context: dict[str, Any],
    arguments: argparse.Namespace,
    hold: float,
) -> dict[str, Any]:
    """Upload, cause the fault, end it after ``hold`` s, then wait for the app and documents."""
    url, headers, probe = context["url"], context["headers"], context["probe"]
    restarts = context["launcher"].restarts()
    accepted = upload(url, headers, context["folder"], arguments.documents)
    began = time.monotonic()
    begin()
    time.sleep(hold)
    end()
    back = time.monotonic()
    recovered = probe.first_ok_after(back, back + arguments.deadline)

    def settled() -> dict[str, str] | None:
        found = statuses(url, headers, accepted)
        return found if found and set(found.values()) <= {"ready", "failed"} else None

    try:
        final = wait_for(f"the documents after {name}", settled, arguments.deadline)
    except AssertionError:
        final = statuses(url, headers, accepted)
    done = time.monotonic()
    during = probe.between(began, back)
    failed = [answer for answer in during if answer.status != 200]
    return {
        "fault": name,
        "fault_seconds": round(back - began, 2),
        "requests_during": len(during),
        "requests_failed": len(failed),
        "answered_503_json": sum(1 for a in failed if a.status == 503 and a.shaped),
        "other_errors": sum(1 for a in failed if not (a.status == 503 and a.shaped)),
        "slowest_request_s": round(max((a.seconds for a in during), default=0.0), 2),
        "seconds_to_first_200": recovered,
        "documents_accepted": len(accepted),
        "documents_ready": sum(1 for status in final.values() if status == "ready"),
        "documents_lost": sum(1 for status in final.values() if status != "ready"),
        "seconds_until_documents_ready": round(done - back, 1),
        "supervisor_restarts": context["launcher"].restarts() - restarts,
    }


def kill_worker(context: dict[str, Any]) -> Callable[[], None]:
    def kill() -> None:
        (pid,) = worker_pids(context["redis"])
        context["killed"] = pid
        os.kill(pid, signal.SIGKILL)

    return kill


def await_new_worker(context: dict[str, Any], seconds: float) -> Callable[[], None]:
    def await_it() -> None:
        wait_for(
            "a new worker", lambda: worker_pids(context["redis"]) - {context["killed"]}, seconds
        )

    return await_it


def run_faults(arguments: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    postgres, redis_server = PostgresServer(), RedisServer()
    postgres.start()
    redis_server.start()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis_server.url,
        "RAGKIT_HOME": str(folder / "home"),
        "MEDIA_ROOT": str(folder / "media"),
        "PYTHONPATH": str(ROOT),
        "PORT": str(port),
    }
    launcher = Launcher(env, folder)
    connection = Redis.from_url(redis_server.url)
    probe = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for("the web app", lambda: "ragkit is running at" in launcher.output(), START_SECONDS)
        wait_for("the worker", lambda: worker_pids(connection), START_SECONDS)
        headers = sign_up(url)
        probe = Prober(url, headers)
        context = {"url": url, "headers": headers, "probe": probe, "launcher": launcher}
        context.update({"folder": folder, "redis": connection})
        outage = arguments.outage_seconds
        return [
            measure_fault(
                "database down", postgres.stop, postgres.start, context, arguments, outage
            ),
            measure_fault(
                "Redis down", redis_server.stop, redis_server.start, context, arguments, outage
            ),
            measure_fault(
                "worker SIGKILLed",
                kill_worker(context),
                await_new_worker(context, START_SECONDS),
                context,
                arguments,
                hold=0,
            ),
        ]
    finally:
        if probe is not None:
            probe.stop()
        print(f"launcher stopped with status {launcher.stop()}")
        connection.close()
        redis_server.remove()
        postgres.remove()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.outages", description=__doc__)
    parser.add_argument("--outage-seconds", type=float, default=5.0)
    parser.add_argument("--documents", type=int, default=3, help="uploaded before each fault")
    parser.add_argument("--deadline", type=float, default=240.0, help="seconds to wait for them")
    parser.add_argument("--output", type=Path, default=RESULTS / "outages.json")
    arguments = parser.parse_args(argv)
    run = Run("outages", arguments)
    with tempfile.TemporaryDirectory(prefix="rk-outages-") as scratch:
        faults = run_faults(arguments, Path(scratch))
    columns = list(faults[0])
    print_table(columns, [[fault[column] for column in columns] for fault in faults])
    run.finish({"faults": faults}, arguments.output)


if __name__ == "__main__":
    main()
