"""Handoff requests reach the organization's webhook through an RQ job, retried with backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from flask.testing import FlaskClient
from redis import Redis
from rq.job import Job, JobStatus

from tests.fixtures import Account
from tests.webhook_receiver import Receiver, webhook_receiver
from webapp.services.webhooks import WebhookDeliveryFailed
from workers import jobs
from workers.queue import DELIVERY_RETRY_INTERVALS, handoff_job_id
from workers.worker import SimpleKnowledgeWorker

ORIGIN = "https://help.example.com"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def webhook_secret(client: FlaskClient, owner: Account, receiver: Receiver) -> str:
    response = client.patch(
        "/api/v1/organizations/current", json={"webhook_url": receiver.url}, headers=owner.headers
    )
    assert response.status_code == 200, response.json
    return response.json["webhook_secret"]


def request_handoff(client: FlaskClient, owner: Account) -> str:
    """A visitor of the owner's widget asks for a person; returns the handoff's id."""
    widget = client.post(
        "/api/v1/widgets/",
        json={"name": "Help", "allowed_domains": ["help.example.com"]},
        headers=owner.headers,
    ).json
    key = widget["public_key"]
    started = client.post(
        f"/api/v1/public/widgets/{key}/conversations", json={}, headers={"Origin": ORIGIN}
    ).json
    response = client.post(
        f"/api/v1/public/widgets/{key}/conversations/{started['conversation_id']}/handoff",
        json={"email": "ada@example.org", "message": "Call me"},
        headers={"Origin": ORIGIN, "Authorization": f"Bearer {started['token']}"},
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def handoff(client: FlaskClient, owner: Account, handoff_id: str) -> dict:
    return client.get(f"/api/v1/handoffs/{handoff_id}", headers=owner.headers).json


def test_a_handoff_is_queued_with_a_deterministic_id_and_backoff(
    client: FlaskClient, owner: Account, webhook_secret: str, connection: Redis
) -> None:
    handoff_id = request_handoff(client, owner)

    job = Job.fetch(handoff_job_id(uuid.UUID(handoff_id)), connection=connection)

    assert job.func_name == "workers.jobs.deliver_handoff"
    assert job.args == (handoff_id,)
    assert job.get_status() == JobStatus.QUEUED
    assert job.retries_left == len(DELIVERY_RETRY_INTERVALS)
    assert job.retry_intervals == DELIVERY_RETRY_INTERVALS
    stored = handoff(client, owner, handoff_id)
    assert (stored["delivery_status"], stored["delivery_attempts"]) == ("pending", 0)


def test_a_worker_delivers_the_signed_handoff(
    client: FlaskClient,
    owner: Account,
    webhook_secret: str,
    receiver: Receiver,
    run_worker: Callable[[], SimpleKnowledgeWorker],
) -> None:
    handoff_id = request_handoff(client, owner)

    run_worker()

    assert len(receiver.deliveries) == 1
    delivery = receiver.deliveries[0]
    signed = hmac.new(webhook_secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["X-Ragkit-Signature"] == f"sha256={signed}"
    assert json.loads(delivery.body)["handoff"]["id"] == handoff_id
    stored = handoff(client, owner, handoff_id)
    assert (stored["delivery_status"], stored["delivery_attempts"]) == ("delivered", 1)


def test_a_failed_delivery_is_scheduled_again_and_stays_pending(
    client: FlaskClient,
    owner: Account,
    webhook_secret: str,
    receiver: Receiver,
    connection: Redis,
    run_worker: Callable[[], SimpleKnowledgeWorker],
) -> None:
    receiver.status = 503
    handoff_id = request_handoff(client, owner)

    run_worker()

    job = Job.fetch(handoff_job_id(uuid.UUID(handoff_id)), connection=connection)
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == len(DELIVERY_RETRY_INTERVALS) - 1
    stored = handoff(client, owner, handoff_id)
    assert (stored["delivery_status"], stored["delivery_attempts"]) == ("pending", 1)
    assert "HTTP 503" in stored["last_delivery_error"]


def test_the_job_records_failed_after_its_last_retry(
    client: FlaskClient,
    owner: Account,
    webhook_secret: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver.status = 500
    handoff_id = request_handoff(client, owner)
    states = []

    for retries_left in (2, 1, 0):
        current = SimpleNamespace(retries_left=retries_left)
        monkeypatch.setattr(jobs, "get_current_job", lambda current=current: current)
        with pytest.raises(WebhookDeliveryFailed, match="HTTP 500"):
            jobs.deliver_handoff(handoff_id)
        stored = handoff(client, owner, handoff_id)
        states.append((stored["delivery_status"], stored["delivery_attempts"]))

    assert states == [("pending", 1), ("pending", 2), ("failed", 3)]
    assert len(receiver.deliveries) == 3
    assert "HTTP 500" in handoff(client, owner, handoff_id)["last_delivery_error"]


def test_a_delivered_handoff_is_not_sent_twice(
    client: FlaskClient,
    owner: Account,
    webhook_secret: str,
    receiver: Receiver,
    run_worker: Callable[[], SimpleKnowledgeWorker],
) -> None:
    handoff_id = request_handoff(client, owner)
    run_worker()

    status = jobs.deliver_handoff(handoff_id)

    assert status == "delivered"
    assert len(receiver.deliveries) == 1
