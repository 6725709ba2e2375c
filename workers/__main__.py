"""``python -m workers [--queues ingest reindex] [--burst] [--simple]``: start one worker.

The same worker through RQ's own command (``workers.settings`` names Redis and the queues)::

    rq worker -c workers.settings -w workers.worker.KnowledgeWorker --with-scheduler

Both read ``REDIS_URL``, ``DATABASE_URL`` and ``RAGKIT_*`` from the environment.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from workers.queue import QUEUES, connect
from workers.worker import KnowledgeWorker, SimpleKnowledgeWorker

# How often a worker cleans RQ's registries and re-queues documents whose worker died.
MAINTENANCE_SECONDS = 120


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m workers", description="Start an RQ worker on the project's queues."
    )
    parser.add_argument(
        "--queues",
        nargs="+",
        default=list(QUEUES),
        choices=QUEUES,
        help="queues to take jobs from, highest priority first (default: ingest reindex)",
    )
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument(
        "--simple", action="store_true", help="run jobs in this process instead of forking"
    )
    parser.add_argument("--name", help="worker name (default: a random one)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    worker_class = SimpleKnowledgeWorker if arguments.simple else KnowledgeWorker
    worker = worker_class(
        arguments.queues,
        name=arguments.name,
        connection=connect(),
        maintenance_interval=MAINTENANCE_SECONDS,
    )
    # The scheduler moves retries (scheduled 10/30/60 s later) back onto their queue.
    worker.work(burst=arguments.burst, with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
