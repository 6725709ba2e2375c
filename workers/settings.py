"""Settings module for RQ's own command: ``rq worker -c workers.settings ...``.

RQ reads these upper-case names when the module is imported; see ``workers/__main__.py``.
"""

from workers.queue import QUEUES, redis_url

REDIS_URL = redis_url()
QUEUES = list(QUEUES)
