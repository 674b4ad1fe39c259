"""Baseline: tasks, attempts, workers, and the control plane's auth tables.

Frozen copy of ``rclaude.adapters.sql_schema`` at the time migrations began (a
migration must not change when the live schema does). Tables that already exist
(created by ``SqlTaskStore``'s ``create_all``) are left as they are.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _existing() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def upgrade() -> None:
    have = _existing()
    if "tasks" not in have:
        op.create_table(
            "tasks",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("name", sa.String(64), nullable=True),
            sa.Column("owner", sa.String(128), nullable=True),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("attempt", sa.Integer, nullable=False),
            sa.Column("spec", sa.Text, nullable=False),
            sa.Column("exit_code", sa.Integer, nullable=True),
            sa.Column("signal", sa.Integer, nullable=True),
            sa.Column("reason", sa.Text, nullable=True),
            sa.Column("worker_id", sa.String(64), nullable=True),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("queued_at", sa.Float, nullable=True),
            sa.Column("started_at", sa.Float, nullable=True),
            sa.Column("finished_at", sa.Float, nullable=True),
            sa.Column("cancel_requested", sa.Boolean, nullable=False),
            sa.Column("result", sa.Text, nullable=True),
        )
        op.create_index("tasks_name", "tasks", ["name", "created_at"])
        op.create_index("tasks_owner_created", "tasks", ["owner", "created_at"])
        op.create_index("tasks_state", "tasks", ["state"])
    if "attempts" not in have:
        op.create_table(
            "attempts",
            sa.Column("task_id", sa.String(32), primary_key=True),
            sa.Column("number", sa.Integer, primary_key=True),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("worker_id", sa.String(64), nullable=True),
            sa.Column("started_at", sa.Float, nullable=True),
            sa.Column("finished_at", sa.Float, nullable=True),
            sa.Column("exit_code", sa.Integer, nullable=True),
            sa.Column("signal", sa.Integer, nullable=True),
            sa.Column("reason", sa.Text, nullable=True),
        )
    if "workers" not in have:
        op.create_table(
            "workers",
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("backend", sa.String(32), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("slots", sa.Integer, nullable=False),
            sa.Column("busy", sa.Integer, nullable=False),
            sa.Column("host", sa.String(255), nullable=True),
            sa.Column("pid", sa.Integer, nullable=True),
            sa.Column("started_at", sa.Float, nullable=True),
            sa.Column("heartbeat_at", sa.Float, nullable=True),
            sa.Column("details", sa.Text, nullable=True),
        )
    _auth_tables(have)


def _auth_tables(have: set[str]) -> None:
    """users, magic_links, sessions, api_tokens, login_attempts (rclaude.server.auth)."""
    if "users" not in have:
        op.create_table(
            "users",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("email", sa.String(320), nullable=False, unique=True),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("disabled", sa.Boolean, nullable=False),
        )
    if "magic_links" not in have:
        op.create_table(
            "magic_links",
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column("email", sa.String(320), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("expires_at", sa.Float, nullable=False),
            sa.Column("used_at", sa.Float, nullable=True),
        )
        op.create_index("magic_links_email", "magic_links", ["email", "created_at"])
    if "sessions" not in have:
        op.create_table(
            "sessions",
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column("user_id", sa.String(32), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("expires_at", sa.Float, nullable=False),
            sa.Column("last_seen_at", sa.Float, nullable=True),
        )
        op.create_index("sessions_user", "sessions", ["user_id"])
    if "api_tokens" not in have:
        op.create_table(
            "api_tokens",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("user_id", sa.String(32), nullable=False),
            sa.Column("name", sa.String(128), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("last_used_at", sa.Float, nullable=True),
            sa.Column("revoked_at", sa.Float, nullable=True),
        )
        op.create_index("api_tokens_user", "api_tokens", ["user_id"])
    if "login_attempts" not in have:
        op.create_table(
            "login_attempts",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("key", sa.String(400), nullable=False),
            sa.Column("at", sa.Float, nullable=False),
        )
        op.create_index("login_attempts_key_at", "login_attempts", ["key", "at"])


def downgrade() -> None:
    for table in ("login_attempts", "api_tokens", "sessions", "magic_links", "users"):
        op.drop_table(table)
    op.drop_table("workers")
    op.drop_table("attempts")
    op.drop_table("tasks")
