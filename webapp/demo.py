"""The demo: an organization, its owner and a widget, with ``examples/docs`` as its knowledge base.

``seed_demo`` is idempotent: the organization, user and widget are created once and found
afterwards; an example file already stored (same content) is skipped, a changed one replaces its
older version. ``python -m webapp.serve`` runs it on every start (``flask ragkit demo`` by hand).
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click
from flask.cli import with_appcontext
from werkzeug.datastructures import FileStorage

from ragkit import SUPPORTED_EXTENSIONS, Document, detect_content_type, extract_title
from webapp.auth.passwords import hash_password
from webapp.extensions import db
from webapp.models import Organization, User, WidgetConfiguration
from webapp.services import accounts, documents, widgets
from webapp.widgets.validation import is_allowed_domain

DEMO_EMAIL = "demo@example.com"
DEMO_ORGANIZATION = "Nimbus Labs (demo)"
DEMO_WIDGET = "Help Center demo"
DEMO_HOSTS = ("127.0.0.1", "localhost")
EXAMPLE_DOCS = Path(__file__).resolve().parent.parent / "examples" / "docs"
WIDGET_FIELDS = {
    "name": DEMO_WIDGET,
    "title": "Nimbus Notes Help",
    "primary_color": "#2f5fd0",
    "welcome_message": (
        "Hi! Ask me anything about Nimbus Notes: your account, sync, plans or refunds. "
        "I answer from our help articles and show where each answer comes from."
    ),
    "enable_feedback": True,
}


@dataclass(frozen=True)
class DemoInfo:
    """What a person needs to try the demo: the login, the widget key, the documents."""

    email: str
    password: str
    organization_id: str
    widget_key: str
    allowed_domains: list[str]
    documents_added: list[str] = field(default_factory=list)
    documents_present: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def seed_demo(
    password: str | None = None,
    hosts: Sequence[str] = DEMO_HOSTS,
    docs: Path = EXAMPLE_DOCS,
) -> DemoInfo:
    """Create or bring up to date the demo organization, user, widget and documents.

    Needs an application context. The user's password is set to ``password`` (a new random one
    when None) on every call, so the printed login always works; ``hosts`` are added to the
    widget's allowed domains. Documents are stored through the document service, so they belong
    to the demo organization and are processed like any upload (queued, or inline in tests).
    """
    password = password or secrets.token_urlsafe(9)
    user = demo_user(password)
    widget = demo_widget(user, hosts)
    added, present = ingest_examples(user, docs)
    return DemoInfo(
        email=user.email,
        password=password,
        organization_id=str(user.organization_id),
        widget_key=widget.public_key,
        allowed_domains=list(widget.allowed_domains),
        documents_added=added,
        documents_present=present,
    )


def demo_user(password: str) -> User:
    """The demo organization's owner, created once; its password is reset to ``password``."""
    user = accounts.find_user(DEMO_EMAIL)
    if user is None:
        return accounts.register(DEMO_EMAIL, password, DEMO_ORGANIZATION)
    user.password_hash = hash_password(password)
    db.session.commit()
    return user


def find_demo_widget() -> WidgetConfiguration | None:
    """The demo widget, if the demo has been seeded."""
    return db.session.execute(
        db.select(WidgetConfiguration)
        .join(User, User.organization_id == WidgetConfiguration.organization_id)
        .where(User.email == DEMO_EMAIL, WidgetConfiguration.name == DEMO_WIDGET)
        .order_by(WidgetConfiguration.created_at)
        .limit(1)
    ).scalar_one_or_none()


def demo_widget(user: User, hosts: Sequence[str]) -> WidgetConfiguration:
    widget = find_demo_widget()
    if widget is None:
        return widgets.create(user, {**WIDGET_FIELDS, "allowed_domains": list(hosts)})
    missing = [host for host in hosts if host not in widget.allowed_domains]
    if missing:
        widgets.update(widget, {"allowed_domains": [*widget.allowed_domains, *missing]})
    return widget


def ingest_examples(user: User, docs: Path) -> tuple[list[str], list[str]]:
    """Upload the example files the organization does not have yet; (added, already present)."""
    organization = db.session.get_one(Organization, user.organization_id)
    added, present = [], []
    for path in example_files(docs):
        data = path.read_bytes()
        if has_content(organization, hashlib.sha256(data).hexdigest()):
            present.append(path.name)
            continue
        for outdated in stored_versions(organization, path.name):
            documents.delete(organization, outdated)
        upload_example(organization, user, path, data)
        added.append(path.name)
    return added, present


def has_content(organization: Organization, digest: str) -> bool:
    return (
        db.session.execute(
            db.select(Document.id).where(
                Document.organization_id == organization.namespace,
                Document.content_hash == digest,
            )
        ).first()
        is not None
    )


def example_files(docs: Path) -> list[Path]:
    if not docs.is_dir():
        return []
    return sorted(
        path
        for path in docs.iterdir()
        if path.is_file() and path.suffix.lower() in SUPPORTED_EXTENSIONS
    )


def stored_versions(organization: Organization, source: str) -> list[Document]:
    return list(
        db.session.execute(
            db.select(Document).where(
                Document.organization_id == organization.namespace, Document.source == source
            )
        ).scalars()
    )


def upload_example(organization: Organization, user: User, path: Path, data: bytes) -> None:
    title = extract_title(path, detect_content_type(data, path.name))
    file = FileStorage(stream=io.BytesIO(data), filename=path.name)
    documents.upload(organization, user, file, title, "Example help article (demo)")


def allowed_hosts(
    context: click.Context, parameter: click.Parameter, values: tuple[str, ...]
) -> list[str]:
    hosts = [value.strip().lower() for value in values]
    for host in hosts:
        if not is_allowed_domain(host):
            raise click.BadParameter(f"{host!r} is not a host name (e.g. help.example.com)")
    return hosts


@click.command("demo")
@click.option(
    "--host",
    "hosts",
    multiple=True,
    callback=allowed_hosts,
    help="A host name pages embedding the demo widget are served from (repeatable); "
    "127.0.0.1 and localhost are always allowed.",
)
@click.option("--password", envvar="RAGKIT_DEMO_PASSWORD", help="The demo user's password.")
@click.option("--json", "as_json", is_flag=True, help="Print the demo's details as JSON.")
@with_appcontext
def demo_command(hosts: list[str], password: str | None, as_json: bool) -> None:
    """Create (once) the demo organization, user and widget, and ingest examples/docs."""
    info = seed_demo(password, hosts=list(dict.fromkeys([*DEMO_HOSTS, *hosts])))
    if as_json:
        click.echo(json.dumps(info.to_json()))
        return
    click.echo(f"demo login: {info.email} / {info.password}")
    click.echo(f"demo widget key: {info.widget_key} (allowed on {', '.join(info.allowed_domains)})")
    click.echo(
        f"documents: {len(info.documents_added)} added, {len(info.documents_present)} present"
    )
