"""``/widget.js``, the ``/demo`` page and seeding the demo (``flask ragkit demo``)."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from ragkit import Document
from tests.fixtures import Account
from webapp.demo import DEMO_EMAIL, DEMO_WIDGET, ingest_examples, seed_demo
from webapp.extensions import db
from webapp.models import User, WidgetConfiguration
from webapp.site.routes import WIDGET_SCRIPT

EXAMPLE_FILES = sorted(
    path.name for path in (Path(__file__).parents[2] / "examples" / "docs").iterdir()
)


def test_widget_script_is_sent_gzipped_and_cacheable(client: FlaskClient) -> None:
    response = client.get("/widget.js", headers={"Accept-Encoding": "gzip, br"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == WIDGET_SCRIPT.read_bytes()
    assert len(response.data) < 12 * 1024
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_widget_script_is_sent_plain_to_clients_without_gzip(client: FlaskClient) -> None:
    response = client.get("/widget.js", headers={"Accept-Encoding": "identity"})

    assert "Content-Encoding" not in response.headers
    assert response.data == WIDGET_SCRIPT.read_bytes()


def test_unchanged_widget_script_is_revalidated_without_a_body(client: FlaskClient) -> None:
    etag = client.get("/widget.js", headers={"Accept-Encoding": "gzip"}).headers["ETag"]

    again = client.get("/widget.js", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})

    assert again.status_code == 304
    assert again.data == b""


def test_seeding_the_demo_again_keeps_its_widget_and_documents(app: Flask) -> None:
    with app.app_context():
        first = seed_demo("first password")
        second = seed_demo("second password", hosts=["127.0.0.1", "localhost", "help.test"])
        keys = (
            db.session.execute(
                db.select(WidgetConfiguration.public_key).where(
                    WidgetConfiguration.name == DEMO_WIDGET
                )
            )
            .scalars()
            .all()
        )
        sources = db.session.execute(
            db.select(Document.source, Document.status).where(
                Document.organization_id == second.organization_id
            )
        ).all()

    assert keys == [first.widget_key]
    assert second.widget_key == first.widget_key
    assert second.organization_id == first.organization_id
    assert second.documents_added == []
    assert second.documents_present == EXAMPLE_FILES
    examples = sorted((name, status) for name, status in sources if name in EXAMPLE_FILES)
    assert examples == [(name, "ready") for name in EXAMPLE_FILES]  # once each
    assert second.allowed_domains[-1] == "help.test"


def test_the_printed_demo_password_is_the_one_that_signs_in(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        seed_demo("an old demo password")
        info = seed_demo()

    signed_in = client.post(
        "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": info.password}
    )
    old = client.post(
        "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": "an old demo password"}
    )

    assert signed_in.status_code == 200
    assert old.status_code == 401


def test_demo_command_prints_the_login_and_widget_as_json(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["ragkit", "demo", "--json", "--password", "command password"]
    )

    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["email"] == DEMO_EMAIL
    assert info["password"] == "command password"
    assert info["widget_key"].startswith("wk_")
    assert {"127.0.0.1", "localhost"} <= set(info["allowed_domains"])


def test_demo_command_refuses_a_host_that_is_not_one(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["ragkit", "demo", "--host", "http://x/"])

    assert result.exit_code == 2
    assert "'http://x/' is not a host name" in result.output


def test_demo_page_embeds_the_widget_from_the_other_loopback_name(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        key = seed_demo("page password").widget_key

    page = client.get("/demo", base_url="http://127.0.0.1:5000").get_data(as_text=True)
    other = client.get("/demo", base_url="http://localhost:5000").get_data(as_text=True)
    remote = client.get("/demo", base_url="https://help.example.com").get_data(as_text=True)

    tag = '<script src="{}" data-widget-key="{}" async></script>'
    assert tag.format("http://localhost:5000/widget.js", key) in page
    assert tag.format("http://127.0.0.1:5000/widget.js", key) in other
    assert tag.format("https://help.example.com/widget.js", key) in remote
    assert re.search(r"<title>Nimbus Notes Help Center</title>", page)


def test_a_changed_example_file_replaces_its_older_version(
    app: Flask, owner: Account, tmp_path: Path
) -> None:
    article = tmp_path / "article.md"
    article.write_text("# Shipping\n\nParcels leave our warehouse within two working days.\n")
    with app.app_context():
        user = db.session.get_one(User, uuid.UUID(owner.user_id))
        assert ingest_examples(user, tmp_path) == (["article.md"], [])
        assert ingest_examples(user, tmp_path) == ([], ["article.md"])
        article.write_text("# Shipping\n\nParcels leave our warehouse the next working day.\n")
        assert ingest_examples(user, tmp_path) == (["article.md"], [])
        stored = db.session.execute(
            db.select(Document.content_hash).where(
                Document.organization_id == owner.organization_id
            )
        ).all()

    assert len(stored) == 1
