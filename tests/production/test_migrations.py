"""Alembic migrations: the baseline builds the live schema on SQLite and PostgreSQL,
adopts a database SqlTaskStore already created, and `rclaude db` drives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine

from rclaude import migrations
from rclaude.adapters.sql_schema import metadata
from rclaude.adapters.sql_store import SqlTaskStore, driver_url
from rclaude.model import Task, TaskSpec, TaskState


def _diff(url: str) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(driver_url(url))
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return request.getfixturevalue("postgres_srv").create_database("mig")


def test_baseline_builds_the_live_schema(db_url):
    assert migrations.current(db_url) is None
    assert migrations.upgrade(db_url) == migrations.head() == "0001"
    assert _diff(db_url) == []
    store = SqlTaskStore(db_url, create=False)  # works on the migrated schema alone
    try:
        store.create(
            Task(id="m1", spec=TaskSpec(command=("true",)), state=TaskState.QUEUED, created_at=1.0)
        )
        assert store.get("m1").state is TaskState.QUEUED
    finally:
        store.close()


def test_upgrade_adopts_a_database_created_by_the_store(db_url):
    SqlTaskStore(db_url).close()  # create_all
    assert migrations.upgrade(db_url) == "0001"
    assert migrations.upgrade(db_url) == "0001"  # idempotent
    assert _diff(db_url) == []


def test_db_cli_upgrade_and_current(postgres_srv, tmp_path):
    url = postgres_srv.create_database("cli")
    env = dict(
        os.environ,
        RCLAUDE_DATABASE=url,
        RCLAUDE_DATA_DIR=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path),
    )
    run = [sys.executable, "-m", "rclaude.cli.main"]

    def rclaude(*args):
        out = subprocess.run([*run, *args], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert rclaude("db", "current", "--json")["current"] is None
    assert rclaude("db", "upgrade", "--json")["to"] == "0001"
    got = rclaude("db", "current", "--json")
    assert got["current"] == got["head"] == "0001" and got["up_to_date"] is True
    assert migrations.current(url) == "0001"


def test_unreachable_database_is_a_clear_error():
    from rclaude.errors import BackendError

    with pytest.raises(BackendError) as err:
        migrations.current("postgresql://postgres@127.0.0.1:1/none")
    assert err.value.code == "RC-DB-002"
