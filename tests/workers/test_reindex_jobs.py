"""Reindex runs split into RQ batch jobs: a model switch while queries keep being answered."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue

from ragkit import RagKit
from ragkit.index import active_index
from tests.fixtures import Account, AuthActions
from workers.queue import REINDEX, reindex_job_id

DOCUMENTS = ("faq.md", "troubleshooting.pdf", "release-notes.txt")


@pytest.fixture
def knowledge(owner: Account, upload, example_docs: Path, run_worker) -> Account:
    """An organization whose three documents a worker has processed."""
    for name in DOCUMENTS:
        assert upload(owner, example_docs / name).status_code == 201
    run_worker()
    return owner


class QueryLoop(threading.Thread):
    """Asks the organization questions until stopped, recording how many passages each found."""

    def __init__(self, kit: RagKit, organization: str) -> None:
        super().__init__(daemon=True)
        self.kit, self.organization = kit, organization
        self.found: list[int] = []
        self.errors: list[Exception] = []
        self.stop = threading.Event()

    def run(self) -> None:
        questions = ["How do I reset my password?", "What does error E-1042 mean?"]
        while not self.stop.is_set():
            try:
                passages = self.kit.retrieve(questions[len(self.found) % 2], self.organization)
                self.found.append(len(passages))
            except Exception as error:  # recorded: the test fails on any
                self.errors.append(error)


def vector_dimensions(kit: RagKit, organization: str) -> set[int]:
    with kit.database.sessions() as session:
        index = active_index(session, organization)
        return set(
            session.scalars(
                sa.text(
                    f"SELECT DISTINCT vector_dims(embedding) FROM {index.table_name} "
                    "WHERE metadata_->>'organization_id' = :organization"
                ),
                {"organization": organization},
            )
        )


def test_switching_model_keeps_answering_while_batch_jobs_run(
    knowledge: Account,
    queue_app: Flask,
    client: FlaskClient,
    connection: Redis,
    run_worker,
    kit: RagKit,
    second_model: str,
) -> None:
    organization = knowledge.organization_id
    assert vector_dimensions(kit, organization) == {384}
    command = ["ragkit", "reindex", "--org", organization, "--embed-model", second_model]
    started = queue_app.test_cli_runner().invoke(args=[*command, "--batch-size", "1"])
    assert started.exit_code == 0, started.output
    run = json.loads(started.stdout)
    assert (run["state"], run["total"], run["switches_index"]) == ("running", 3, True)
    jobs = Queue(REINDEX, connection=connection).get_job_ids()
    assert jobs == [reindex_job_id(run["id"], batch) for batch in range(3)]
    queries = QueryLoop(kit, organization)
    queries.start()

    run_worker()
    queries.stop.set()
    queries.join(timeout=60)

    assert queries.errors == []
    assert len(queries.found) > 3 and all(queries.found)
    assert vector_dimensions(kit, organization) == {128}
    progress = client.get(f"/api/v1/reindex/{run['id']}", headers=knowledge.headers)
    assert progress.status_code == 200
    assert progress.json["state"] == "succeeded"
    assert (progress.json["done"], progress.json["failed"], progress.json["total"]) == (3, 0, 3)
    found = kit.retrieve("What does error E-1042 mean?", organization)
    assert "E-1042" in found[0].content
    status = queue_app.test_cli_runner().invoke(args=["ragkit", "reindex-status", run["id"]])
    assert status.exit_code == 0 and json.loads(status.stdout)["state"] == "succeeded"


def test_owner_starts_a_reindex_of_their_organization_through_the_api(
    knowledge: Account, client: FlaskClient, connection: Redis, run_worker
) -> None:
    response = client.post(
        "/api/v1/reindex/", json={"chunk_size": 120, "batch_size": 2}, headers=knowledge.headers
    )

    assert response.status_code == 202, response.json
    run = response.json
    assert (run["state"], run["total"], run["pending"]) == ("running", 3, 3)
    assert Queue(REINDEX, connection=connection).count == 2
    run_worker()
    progress = client.get(f"/api/v1/reindex/{run['id']}", headers=knowledge.headers).json
    assert (progress["state"], progress["done"], progress["errors"]) == ("succeeded", 3, [])


def test_reindex_runs_are_private_to_their_organization_and_owners(
    knowledge: Account, client: FlaskClient, auth: AuthActions
) -> None:
    run = client.post("/api/v1/reindex/", json={}, headers=knowledge.headers).json
    stranger = auth.register("Elsewhere")
    member = auth.invite(knowledge)

    other_org = client.get(f"/api/v1/reindex/{run['id']}", headers=stranger.headers)
    by_member = client.post("/api/v1/reindex/", json={}, headers=member.headers)

    assert other_org.status_code == 404 and other_org.json["code"] == "not_found"
    assert by_member.status_code == 403
    assert client.get(f"/api/v1/reindex/{run['id']}", headers=member.headers).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"batch_size": 0}, 422),
        ({"chunk_size": 5}, 422),
        ({"document_ids": ["not-a-uuid"]}, 422),
        ({"embed_model": "nonsense"}, 422),
    ],
)
def test_bad_reindex_requests_are_refused(
    owner: Account, client: FlaskClient, body: dict, status: int
) -> None:
    response = client.post("/api/v1/reindex/", json=body, headers=owner.headers)

    assert response.status_code == status, response.json
    assert set(response.json) >= {"code", "status", "message", "errors"}


def test_reindex_command_needs_a_scope(queue_app: Flask, connection: Redis) -> None:
    result = queue_app.test_cli_runner().invoke(args=["ragkit", "reindex", "--embed-model", "x"])

    assert result.exit_code == 2
    assert "give either --all, or --org" in result.output
