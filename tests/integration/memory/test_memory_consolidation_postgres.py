"""Sleep consolidation with its DBOS system database on the PostgreSQL server.

Needs PostgreSQL at ``EMILY_TEST_POSTGRES_URL`` (default 127.0.0.1:5432/test, trust auth): it runs
in CI; without it this test fails with the connection error, it does not skip.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from emily.core import ManualClock
from emily.core.settings import EmilySettings
from emily.memory import Episode, open_memory
from emily.memory.consolidation import shutdown_dbos
from emily.memory.embedding import HashTextEmbedder

pytestmark = pytest.mark.slow

SERVER = "postgresql://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def workflow_db() -> Iterator[str]:
    name = f"emily_dbos_{secrets.token_hex(4)}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        shutdown_dbos()
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_consolidation_records_its_steps_in_postgresql(
    settings: EmilySettings, hash_embedders: dict[str, HashTextEmbedder], workflow_db: str
) -> None:
    on_postgres = settings.model_copy(update={"hdc_dim": 512, "workflow_db_url": workflow_db})
    memory = open_memory(
        on_postgres, embedders=hash_embedders, clock=ManualClock(T0 + timedelta(1))
    )
    try:
        memory.episodic.record_episodes(
            Episode(
                id=f"e{i}",
                timestamp=T0 + timedelta(seconds=i),
                stimulus=f"stimulus {i % 3}",
                response="wave",
                confirmed=True,
            )
            for i in range(30)
        )
        report = memory.consolidation(chunk_episodes=10).run()
        assert report.episodes == 30
        assert memory.episodic.count(consolidated=True) == 30
        assert memory.consolidation(chunk_episodes=10).run().episodes == 0  # exactly once
    finally:
        memory.close()
    with psycopg.connect(workflow_db) as db:
        statuses = db.execute(
            "SELECT status, count(*) FROM dbos.workflow_status GROUP BY status"
        ).fetchall()
    assert dict(statuses).get("SUCCESS", 0) >= 1
    assert "PENDING" not in dict(statuses)
