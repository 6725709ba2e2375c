"""Batch reindexing: re-embed stored chunks with another model, or re-chunk documents.

A run is split into batches of documents that can be processed anywhere (RQ jobs in the web
application, or in-process). A change of embedding model writes into a new vector-table
generation while queries keep using the current one; when every document has succeeded the
organizations switch to the new generation in one transaction and unused old tables are dropped.
A run with failures leaves the old generation active and lists what failed.

The stages of a run, in order: ``plan`` (scope and batches), ``batch`` (each document, with
``reembed`` for a model change), ``finish`` (the switch); ``progress`` reads where it is.
"""

from ragkit.errors import ReindexFailed
from ragkit.reindex.batch import reindex, reindex_batch
from ragkit.reindex.finish import drop_retired_generations, finish_run
from ragkit.reindex.plan import ReindexPlan, plan_reindex
from ragkit.reindex.progress import ReindexProgress, reindex_progress
from ragkit.reindex.reembed import reembed_document, target_for

__all__ = [
    "ReindexFailed",
    "ReindexPlan",
    "ReindexProgress",
    "drop_retired_generations",
    "finish_run",
    "plan_reindex",
    "reembed_document",
    "reindex",
    "reindex_batch",
    "reindex_progress",
    "target_for",
]
