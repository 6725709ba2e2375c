"""Turning an uploaded document into searchable chunks.

Everything that starts processing goes through :func:`enqueue_processing`, so moving the work
to a queue changes this module only.
"""

from __future__ import annotations

import logging
import uuid

from ragkit import RagkitError
from webapp.services.knowledge import knowledge_base

log = logging.getLogger(__name__)


def enqueue_processing(document_id: uuid.UUID, *, force: bool = False) -> None:
    """Process the document now (inline until the queue exists).

    A document ragkit cannot read is not an error of the request: ragkit has already marked
    it ``failed`` with the reason, which the client reads from the document.
    """
    try:
        knowledge_base().process_document(document_id, force=force)
    except RagkitError as error:
        log.info("document %s failed: %s", document_id, error)
