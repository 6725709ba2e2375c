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

from ragkit.envfile import load_env_file
from ragkit.errors import ConfigurationError
from workers.queue import QUEUES, connect, queue_names, queue_prefix
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
        help="queues to take jobs from, highest priority first (default: ingest reindex webhooks); "
        "RAGKIT_QUEUE_PREFIX is put in front of their names",
    )
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument(
        "--simple", action="store_true", help="run jobs in this process instead of forking"
    )
    parser.add_argument("--name", help="worker name (default: a random one)")
    return parser.parse_args(argv)


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
        maintenance_interval=MAINTENANCE_SECONDS,
        queue_prefix=prefix,
    )
    # The scheduler moves retries (scheduled 10/30/60 s later) back onto their queue.
    worker.work(burst=arguments.burst, with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
