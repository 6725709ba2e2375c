"""``python -m workers [--queues ingest reindex webhooks] [--burst] [--simple]``: start one worker.

The same worker through RQ's own command (``workers.settings`` names Redis and the queues)::

    rq worker -c workers.settings -w workers.worker.KnowledgeWorker --with-scheduler

Both read ``REDIS_URL``, ``DATABASE_URL`` and ``RAGKIT_*`` (``RAGKIT_QUEUE_PREFIX`` names the
queues) from the environment, after the variables of a ``.env`` file in the working directory.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from redis import Redis

from ragkit import ConfigurationError, load_env_file
from workers.queue import QUEUES, queue_names, queue_prefix, redis_url
from workers.worker import KnowledgeWorker, SimpleKnowledgeWorker

# How often a worker cleans RQ's registries and re-queues documents whose worker died.
MAINTENANCE_SECONDS = 120
# A Redis that does not accept the connection in this time counts as down (and is tried again).
REDIS_CONNECT_SECONDS = 5


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m workers", description="Start an RQ worker on the project's queues."
    )
    parser.add_argument(
        "--queues",
        nargs="+",
        default=list(QUEUES),
        choices=QUEUES,
        help="queues to take jobs from, highest priority first (default: ingest reindex webhooks); "
        "RAGKIT_QUEUE_PREFIX is put in front of their names",
    )
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument(
        "--simple", action="store_true", help="run jobs in this process instead of forking"
    )
    parser.add_argument("--name", help="worker name (default: a random one)")
    parser.add_argument(
        "--maintenance-interval",
        type=positive_seconds,
        default=MAINTENANCE_SECONDS,
        metavar="SECONDS",
        help="how often to clean RQ's registries and queue stale documents again "
        f"(default: {MAINTENANCE_SECONDS})",
    )
    return parser.parse_args(argv)


def positive_seconds(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (1 or more)")
    return int(text)


def connect() -> Redis:
    """The worker's connection to ``REDIS_URL``: connecting never hangs on a lost host."""
    return Redis.from_url(redis_url(), socket_connect_timeout=REDIS_CONNECT_SECONDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a worker; as a program (``argv`` None) it first reads ``.env``."""
    arguments = parse_arguments(argv)
    if argv is None:
        load_env_file()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        prefix = queue_prefix()
    except ConfigurationError as error:
        print(f"python -m workers: error: {error}", file=sys.stderr)
        return 2
    worker_class = SimpleKnowledgeWorker if arguments.simple else KnowledgeWorker
    worker = worker_class(
        list(queue_names(prefix, arguments.queues)),
        name=arguments.name,
        connection=connect(),
        maintenance_interval=arguments.maintenance_interval,
        queue_prefix=prefix,
    )
    # The scheduler moves retries (scheduled 10/30/60 s later) back onto their queue.
    worker.work(burst=arguments.burst, with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
