"""Settings module for RQ's own command: ``rq worker -c workers.settings ...``.

RQ reads these upper-case names when the module is imported; see ``workers/__main__.py``. Like
``python -m workers``, it reads ``.env`` first and names the queues with ``RAGKIT_QUEUE_PREFIX``.
"""

from ragkit import load_env_file
from workers.queue import queue_names, queue_prefix, redis_url

load_env_file()

REDIS_URL = redis_url()
QUEUES = list(queue_names(queue_prefix()))
