"""The RQ jobs: thin wrappers that take plain ids and call ragkit.

Exceptions propagate: RQ records them in the failed registry and retries the job. ragkit has
already marked a document it cannot process ``failed`` with a readable reason; a document that
runs out of the job's memory or time, or whose job keeps crashing, is marked ``failed`` here
(see :mod:`workers.limits` and :mod:`workers.recovery`).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from rq import get_current_job

import ragkit
from webapp.services import webhooks
from workers.context import knowledge_base
from workers.limits import limit_failures
from workers.recovery import counting_crashes


def process_document(document_id: str, force: bool = False) -> str:
    """Read, chunk, embed and store an uploaded document; returns its status."""
    kit, job, key = knowledge_base(), get_current_job(), uuid.UUID(document_id)
    timeout = job.timeout if job is not None else None
    with counting_crashes(kit, job, key), limit_failures(kit, key, timeout):
        document = kit.process_document(key, force=force)
    return document.status


def reindex_batch(run_id: str, batch: int) -> dict[str, Any]:
    """Reindex one batch of a run (switching the index after the last); returns the progress."""
    return ragkit.reindex_batch(knowledge_base(), uuid.UUID(run_id), batch).to_json()


def deliver_handoff(handoff_id: str) -> str:
    """POST a handoff request to its organization's webhook; returns the delivery status.

    A failure is recorded on the request and raised so RQ retries; the last attempt marks it
    ``failed``.
    """
    job = get_current_job()
    final = job is None or not job.retries_left
    timeout = float(os.environ.get("WEBHOOK_TIMEOUT") or webhooks.DEFAULT_TIMEOUT)
    with knowledge_base().database.sessions() as session:
        return webhooks.deliver(session, uuid.UUID(handoff_id), final=final, timeout=timeout)
