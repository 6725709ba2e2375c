"""Two deployments on one Redis database, told apart by ``RAGKIT_QUEUE_PREFIX``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rq
from flask import Flask
from redis import Redis
from rq import Queue

from ragkit import ConfigurationError, Document, DocumentStatus, RagKit
from tests.fixtures import Account, AuthActions, app_config_for
from webapp import create_app
from webapp.extensions import db
from workers.queue import QUEUES, process_job_id, queue_names, queue_prefix
from workers.recovery import requeue_stale
from workers.worker import SimpleKnowledgeWorker


def app_with_prefix(prefix: str, base: dict[str, Any]) -> Flask:
    return create_app({**base, "RAGKIT_QUEUE_PREFIX": prefix})


@pytest.fixture(scope="module")
def base_config(
    database_url: str, queue_redis_url: str, kit: RagKit, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    media_root = tmp_path_factory.mktemp("prefixed-media")
    return app_config_for(database_url, queue_redis_url, kit, media_root, PROCESSING_MODE="queue")


@pytest.fixture(scope="module")
def deployments(
    base_config: dict[str, Any], kit: RagKit, queue_app: Flask
) -> Iterator[dict[str, Flask]]:
    """The ``acme`` and ``globex`` deployments (``queue_app`` makes their jobs use ``kit``)."""
    apps = {prefix: app_with_prefix(prefix, base_config) for prefix in ("acme", "globex")}
    for application in apps.values():
        application.extensions["ragkit"] = kit
    yield apps
    for application in apps.values():
        with application.app_context():
            db.engine.dispose()


def upload(application: Flask, path: Path) -> tuple[Account, dict[str, Any]]:
    client = application.test_client()
    account = AuthActions(client).register("Prefixed Support")
    with path.open("rb") as handle:
        response = client.post(
            "/api/v1/documents/",
            data={"file": (handle, path.name)},
            headers=account.headers,
            content_type="multipart/form-data",
        )
    assert response.status_code == 201, response.json
    return account, response.json


def listed_jobs(application: Flask) -> list[dict[str, Any]]:
    result = application.test_cli_runner().invoke(args=["ragkit", "jobs", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def status_of(application: Flask, account: Account, document_id: str) -> str:
    response = application.test_client().get(
        f"/api/v1/documents/{document_id}", headers=account.headers
    )
    return response.json["status"]


def test_unprefixed_queues_keep_their_names() -> None:
    assert queue_names() == QUEUES and QUEUES[:2] == ("ingest", "reindex")
    assert queue_names("acme")[:2] == ("acme:ingest", "acme:reindex")
    assert process_job_id(uuid.UUID(int=1), "ab" * 32, "acme").startswith("acme-process-")


def test_deployments_with_different_prefixes_do_not_see_each_others_jobs(
    deployments: dict[str, Flask], connection: Redis, example_docs: Path
) -> None:
    acme_owner, acme_document = upload(deployments["acme"], example_docs / "faq.md")
    globex_owner, globex_document = upload(deployments["globex"], example_docs / "plans.csv")

    acme_jobs, globex_jobs = listed_jobs(deployments["acme"]), listed_jobs(deployments["globex"])
    assert [(job["queue"], job["state"]) for job in acme_jobs] == [("acme:ingest", "queued")]
    assert acme_document["id"] in acme_jobs[0]["description"]
    assert [(job["queue"], job["state"]) for job in globex_jobs] == [("globex:ingest", "queued")]
    assert globex_document["id"] in globex_jobs[0]["description"]
    assert Queue("ingest", connection=connection).count == 0

    # A plain RQ worker on acme's queues: only acme's upload is processed.
    rq.SimpleWorker(list(queue_names("acme")), connection=connection).work(burst=True)

    assert status_of(deployments["acme"], acme_owner, acme_document["id"]) == "ready"
    assert status_of(deployments["globex"], globex_owner, globex_document["id"]) == "pending"
    assert [job["state"] for job in listed_jobs(deployments["globex"])] == ["queued"]


def test_a_worker_requeues_lost_work_on_its_own_prefixed_queue(
    kit: RagKit, queue_app: Flask, connection: Redis, organization: str, workdir: Path
) -> None:
    path = workdir / "lost.txt"
    path.write_text("Invoices are sent on the first working day of each month.")
    document = Document(
        id=uuid.uuid4(),
        organization_id=organization,
        title="Lost",
        source=path.name,
        file_path=str(path),
        content_type="text/plain",
        file_size=path.stat().st_size,
        content_hash=uuid.uuid4().hex * 2,
        status=DocumentStatus.PENDING.value,
    )
    with kit.database.sessions() as session:
        session.add(document)
        session.commit()

    assert document.id in requeue_stale(kit, connection, prefix="acme")
    job_id = process_job_id(document.id, document.content_hash, "acme")
    assert job_id in Queue("acme:ingest", connection=connection).get_job_ids()
    assert Queue("ingest", connection=connection).count == 0

    worker = SimpleKnowledgeWorker(
        list(queue_names("acme")), connection=connection, queue_prefix="acme"
    )
    worker.work(burst=True, logging_level="WARNING")

    with kit.database.sessions() as session:
        assert session.get(Document, document.id).status == "ready"


def test_revoked_tokens_are_kept_under_the_prefix(
    deployments: dict[str, Flask], connection: Redis
) -> None:
    client = deployments["acme"].test_client()
    owner = AuthActions(client).register("Prefixed Support")

    assert client.post("/api/v1/auth/logout", headers=owner.headers).status_code == 204

    assert client.get("/api/v1/auth/me", headers=owner.headers).json["code"] == "token_revoked"
    assert len(connection.keys("acme:ragkit:revoked-token:*")) == 1
    assert connection.keys("ragkit:*") == []


@pytest.mark.parametrize("prefix", ["a:b", "has space", "x" * 41, "ünï"])
def test_a_prefix_that_cannot_name_jobs_is_refused(
    prefix: str, base_config: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError, match="RAGKIT_QUEUE_PREFIX"):
        create_app({**base_config, "RAGKIT_QUEUE_PREFIX": prefix})
    with pytest.raises(ConfigurationError, match="RAGKIT_QUEUE_PREFIX"):
        queue_prefix({"RAGKIT_QUEUE_PREFIX": prefix})
