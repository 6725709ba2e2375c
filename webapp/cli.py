"""``flask ragkit ...``: reindex and its progress, jobs, re-queue stale processing, serve."""

from __future__ import annotations

import json
import time
import uuid

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ragkit import ReindexProgress, reindex_progress
from webapp.config import queue_prefix
from webapp.extensions import redis_client
from webapp.security import BannerlessRequestHandler
from webapp.services.knowledge import knowledge_base
from webapp.services.processing import start_reindex
from workers.queue import queue_names
from workers.recovery import requeue_stale
from workers.status import job_summaries

ragkit_cli = AppGroup("ragkit", help="Reindex documents and look after the processing queues.")

POLL_SECONDS = 0.5


@ragkit_cli.command("reindex")
@click.option("--all", "everything", is_flag=True, help="Every organization's documents.")
@click.option("--org", "organization", help="Only this organization's documents (its id).")
@click.option(
    "--document", "document_ids", multiple=True, type=click.UUID, help="Only this document."
)
@click.option("--embed-model", help="Embed with this model, e.g. hf:BAAI/bge-small-en-v1.5.")
@click.option("--chunk-size", type=click.IntRange(min=32), help="Re-chunk with this chunk size.")
@click.option("--batch-size", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--wait", is_flag=True, help="Show a progress bar until the run has finished.")
def reindex_command(
    everything: bool,
    organization: str | None,
    document_ids: tuple[uuid.UUID, ...],
    embed_model: str | None,
    chunk_size: int | None,
    batch_size: int,
    wait: bool,
) -> None:
    """Re-embed (or re-chunk) documents in batches; a new model switches when all succeeded."""
    check_scope(everything, organization, document_ids)
    progress = start_reindex(
        organization=organization,
        document_ids=list(document_ids) or None,
        embed_model=embed_model,
        chunk_size=chunk_size,
        batch_size=batch_size,
    )
    click.echo(f"reindex run {progress.run_id}: {progress.total} documents", err=True)
    report(wait_for(progress) if wait else progress)


def check_scope(
    everything: bool, organization: str | None, document_ids: tuple[uuid.UUID, ...]
) -> None:
    if everything == bool(organization or document_ids):
        raise click.UsageError("give either --all, or --org and/or --document")


@ragkit_cli.command("reindex-status")
@click.argument("run_id", type=click.UUID)
@click.option("--wait", is_flag=True, help="Show a progress bar until the run has finished.")
def reindex_status_command(run_id: uuid.UUID, wait: bool) -> None:
    """The progress of a reindex run, as JSON."""
    progress = reindex_progress(knowledge_base(), run_id)
    report(wait_for(progress) if wait else progress)


def wait_for(progress: ReindexProgress) -> ReindexProgress:
    """Poll the run until it is no longer running, with a progress bar on stderr."""
    with click.progressbar(
        length=progress.total, label="reindexing", file=click.get_text_stream("stderr")
    ) as bar:
        while True:
            bar.update(progress.done + progress.failed - bar.pos)
            if progress.state != "running":
                return progress
            time.sleep(POLL_SECONDS)
            progress = reindex_progress(knowledge_base(), progress.run_id)


def report(progress: ReindexProgress) -> None:
    click.echo(json.dumps(progress.to_json(), indent=2))
    if progress.state == "failed":
        raise click.exceptions.Exit(1)


@ragkit_cli.command("jobs")
@click.option("--json", "as_json", is_flag=True, help="One JSON list instead of a table.")
def jobs_command(as_json: bool) -> None:
    """Queued, started, scheduled (retries) and failed jobs per queue, with their errors."""
    summaries = job_summaries(redis_client.connection, queue_names(queue_prefix()))
    if as_json:
        click.echo(json.dumps([summary.to_json() for summary in summaries], indent=2))
        return
    if not summaries:
        click.echo("no queued, started, scheduled or failed jobs")
    for summary in summaries:
        line = f"{summary.queue:8} {summary.state:9} {summary.id}  {summary.description}"
        click.echo(line + (f"\n{'':19}error: {summary.error}" if summary.error else ""))


@ragkit_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
def serve_command(host: str, port: int) -> None:
    """Serve the app on werkzeug's threaded server, as `flask run` does, without its banner.

    The single-machine launcher (`make run`) uses it; production runs gunicorn (Dockerfile).
    """
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_simple(host, port, app, threaded=True, request_handler=BannerlessRequestHandler)


@ragkit_cli.command("requeue-stale")
def requeue_stale_command() -> None:
    """Queue again the documents left pending or processing with no job to finish them."""
    requeued = requeue_stale(knowledge_base(), redis_client.connection, prefix=queue_prefix())
    for document_id in requeued:
        click.echo(f"queued {document_id}")
    click.echo(f"{len(requeued)} stale documents queued again", err=True)


def init_app(app: Flask) -> None:
    app.cli.add_command(ragkit_cli)
