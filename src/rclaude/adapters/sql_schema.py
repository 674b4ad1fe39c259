"""SQLAlchemy table definitions for the TaskStore (SQLite and PostgreSQL alike).

Portable column types only (JSON is stored as text) so one schema and one set of
migrations serve both databases.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=True),
    Column("owner", String(128), nullable=True),
    Column("state", String(16), nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("spec", Text, nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("signal", Integer, nullable=True),
    Column("reason", Text, nullable=True),
    Column("worker_id", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("queued_at", Float, nullable=True),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("result", Text, nullable=True),
)
Index("tasks_name", tasks.c.name, tasks.c.created_at)
Index("tasks_owner_created", tasks.c.owner, tasks.c.created_at)
Index("tasks_state", tasks.c.state)

attempts = Table(
    "attempts",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("worker_id", String(64), nullable=True),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("signal", Integer, nullable=True),
    Column("reason", Text, nullable=True),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("backend", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("slots", Integer, nullable=False, default=1),
    Column("busy", Integer, nullable=False, default=0),
    Column("host", String(255), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("started_at", Float, nullable=True),
    Column("heartbeat_at", Float, nullable=True),
    Column("details", Text, nullable=True),
)

# -- control plane auth (rclaude.server.auth) ------------------------------------------
# Every secret (magic-link token, session token, API token) is stored only as its
# sha256 hex digest; the plain value exists once, in the mail or the response that
# created it.

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

magic_links = Table(
    "magic_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float, nullable=True),
)
Index("magic_links_email", magic_links.c.email, magic_links.c.created_at)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=True),
)
Index("sessions_user", sessions.c.user_id)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float, nullable=True),
    Column("revoked_at", Float, nullable=True),
)
Index("api_tokens_user", api_tokens.c.user_id)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("at", Float, nullable=False),
)
Index("login_attempts_key_at", login_attempts.c.key, login_attempts.c.at)
