"""Ingestion as the stages a document goes through, one module each, in order.

1. :mod:`~ragkit.ingest.prepare`: read the file, split it into units and chunks, keep the
   chunks of units unchanged since the stored version: one immutable ``PreparedDocument``.
2. :mod:`~ragkit.ingest.embed`: vectors for the new chunks, in batches.
3. :mod:`~ragkit.ingest.store`: the new version replaces the stored one in one transaction
   (chunk and vector rows in :mod:`~ragkit.ingest.rows`, BM25 postings in
   :mod:`~ragkit.ingest.postings`).

:mod:`~ragkit.ingest.pipeline` runs them, for a worker's document or the CLI's files.
"""

from ragkit.ingest.pipeline import Pipeline
from ragkit.ingest.prepare import PreparedDocument
from ragkit.ingest.results import IngestReport, IngestResult, Outcome
from ragkit.ingest.sources import collect_files
from ragkit.ingest.texts import TextItem

__all__ = [
    "IngestReport",
    "IngestResult",
    "Outcome",
    "Pipeline",
    "PreparedDocument",
    "TextItem",
    "collect_files",
]
