"""Alembic environment: runs migrations online against ``sqlalchemy.url``.

SQLite cannot ALTER most things in place, so migrations run in batch mode there
(``render_as_batch``), which copies a table to change it; PostgreSQL alters directly.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from rclaude.adapters.sql_schema import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `rclaude db upgrade`")
run_migrations_online()
