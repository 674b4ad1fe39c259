"""Alembic migrations of the TaskStore schema, for SQLite and PostgreSQL alike.

The revisions live in ``versions/``; the first (``0001``) is the baseline: the tables
of ``rclaude.adapters.sql_schema`` as they were when migrations began. It creates only
the tables that are missing, so a database that ``SqlTaskStore`` already created (it
runs ``create_all``) is adopted rather than broken. No ``alembic.ini`` is needed: the
configuration is built here, from the database URL.
"""

from __future__ import annotations

from pathlib import Path

from rclaude.errors import BackendError

HERE = Path(__file__).resolve().parent


def alembic_config(url: str):
    from alembic.config import Config

    from rclaude.adapters.sql_store import driver_url

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.set_main_option("path_separator", "os")
    # ConfigParser interpolation: a literal '%' in a URL (an escaped password) needs '%%'.
    cfg.set_main_option("sqlalchemy.url", driver_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> str | None:
    """Migrate the database at ``url`` to ``revision``; returns the new revision."""
    from alembic import command
    from sqlalchemy.exc import SQLAlchemyError

    try:
        command.upgrade(alembic_config(url), revision)
    except SQLAlchemyError as exc:
        raise _db_error(exc) from None
    return current(url)


def current(url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from rclaude.adapters.sql_store import driver_url

    engine = create_engine(driver_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise _db_error(exc) from None
    finally:
        engine.dispose()


def head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _db_error(exc: Exception) -> BackendError:
    return BackendError(
        f"database migration failed: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}",
        code="RC-DB-002",
        hint="check the 'database' setting and that the server is reachable",
    )
