"""The embedded server is shared between processes; URLs are checked."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from ragkit import RagKit
from ragkit.database import normalise_url
from ragkit.errors import DatabaseError

STARTED_AT = "SELECT pg_postmaster_start_time()::text"


@pytest.mark.skipif(bool(os.environ.get("RAGKIT_TEST_DATABASE_URL")), reason="external server")
def test_a_second_process_reuses_the_running_server_and_leaves_it_running(kit: RagKit) -> None:
    with kit.database.engine.connect() as connection:
        ours = connection.execute(sa.text(STARTED_AT)).scalar_one()
    home = os.environ.get("RAGKIT_TEST_HOME", "/tmp/ragkit-test")
    script = (
        "import sqlalchemy as sa; from pathlib import Path; "
        "from ragkit.database import start_embedded; "
        f"engine = sa.create_engine(start_embedded(Path({home!r}))); "
        f"print(engine.connect().execute(sa.text({STARTED_AT!r})).scalar_one())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ours
    with kit.database.engine.connect() as connection:
        assert connection.execute(sa.text(STARTED_AT)).scalar_one() == ours


def test_urls_are_normalised_to_psycopg() -> None:
    url = normalise_url("postgres://user:secret@db.example:5432/kb")
    assert url.drivername == "postgresql+psycopg"
    assert url.database == "kb"


@pytest.mark.parametrize(
    ("raw", "refusal"),
    [
        ("sqlite:///kb.db", "needs PostgreSQL with pgvector, not sqlite"),
        ("not a url at all", "DATABASE_URL is not a valid database URL"),
    ],
)
def test_other_databases_are_refused(raw: str, refusal: str) -> None:
    with pytest.raises(DatabaseError, match=refusal):
        normalise_url(raw)
