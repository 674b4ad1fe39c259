"""Sign-in by magic link, sessions and API tokens, kept in the task database.

Contract:
- Every secret handed out (magic-link token, session token, API token) is 32 random
  bytes, URL-safe; only its sha256 hex digest is stored. Lookups go by digest, so a
  copy of the database does not let anyone sign in.
- A magic link is single-use and expires after ``magic_link_ttl`` (15 minutes by
  default): :meth:`AuthStore.redeem_link` marks it used in the same compare-and-set
  UPDATE that checks it, so two concurrent redemptions cannot both succeed.
- Sessions live in the database (not process memory), so they survive restarts and
  are shared by several server processes; they expire after ``session_ttl``.
- API tokens (for the CLI) never expire on their own and are revocable.
- Sign-in requests are rate-limited per address and per client IP with a sliding
  window stored in ``login_attempts`` (shared by every server process).

All failures raise ``AuthError`` with one generic message, so a caller cannot tell an
expired link from a used or forged one.
"""

from __future__ import annotations

import fnmatch
import hashlib
import secrets
import time
from dataclasses import dataclass

from rclaude.adapters import sql_schema as S
from rclaude.errors import AuthError, ValidationError
from rclaude.model import new_id

SESSION_PREFIX = "rcs_"
API_TOKEN_PREFIX = "rct_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320 or any(c.isspace() for c in email):
        raise ValidationError(
            f"'{email[:80]}' is not an email address",
            code="RC-AUTH-010",
            hint="give an address such as you@example.com",
        )
    return email


@dataclass(frozen=True)
class User:
    id: str
    email: str


@dataclass(frozen=True)
class ApiTokenInfo:
    id: str
    name: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


def _denied(what: str = "sign-in link") -> AuthError:
    return AuthError(
        f"this {what} is invalid or has expired",
        code="RC-AUTH-002",
        hint="request a new sign-in link",
    )


class AuthStore:
    """Auth records on the task store's SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine, settings) -> None:
        self.engine = engine
        self.settings = settings
        S.metadata.create_all(
            engine, tables=[S.users, S.magic_links, S.sessions, S.api_tokens, S.login_attempts]
        )

    def _tx(self):
        return self.engine.begin()

    def _read(self):
        # readonly: on SQLite a plain BEGIN, so reads never queue for the write lock.
        return self.engine.connect().execution_options(readonly=True)

    # -- policy ------------------------------------------------------------------
    def allowed(self, email: str) -> bool:
        patterns = self.settings.allowed_emails
        return not patterns or any(fnmatch.fnmatchcase(email, p.lower()) for p in patterns)

    def check_rate(self, keys: list[str], *, now: float | None = None) -> None:
        """Record one sign-in attempt under each key; raise if any key is over the limit."""
        from sqlalchemy import delete, func, select

        now = now or time.time()
        window = self.settings.login_window
        la = S.login_attempts
        with self._tx() as c:
            c.execute(delete(la).where(la.c.at < now - window))
            for key in keys:
                n = c.execute(
                    select(func.count())
                    .select_from(la)
                    .where(la.c.key == key, la.c.at >= now - window)
                ).scalar_one()
                if n >= self.settings.login_limit:
                    raise AuthError(
                        "too many sign-in attempts",
                        code="RC-AUTH-003",
                        hint=f"wait {int(window // 60)} minutes and try again",
                    )
            for key in keys:
                c.execute(la.insert().values(key=key, at=now))

    # -- magic links ---------------------------------------------------------------
    def create_link(self, email: str) -> str:
        """A new single-use token for ``email`` (the caller mails it; never logs it)."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self._tx() as c:
            c.execute(
                S.magic_links.insert().values(
                    token_hash=digest(token),
                    email=email,
                    created_at=now,
                    expires_at=now + self.settings.magic_link_ttl,
                )
            )
        return token

    def redeem_link(self, token: str, *, now: float | None = None) -> User:
        """Consume a magic-link token and return its user (created on first sign-in)."""
        from sqlalchemy import select, update

        if not token or len(token) > 200:
            raise _denied()
        now = now or time.time()
        ml = S.magic_links
        h = digest(token)
        with self._tx() as c:
            res = c.execute(
                update(ml)
                .where(ml.c.token_hash == h, ml.c.used_at.is_(None), ml.c.expires_at > now)
                .values(used_at=now)
            )
            if res.rowcount != 1:
                raise _denied()
            email = c.execute(select(ml.c.email).where(ml.c.token_hash == h)).scalar_one()
            row = c.execute(select(S.users).where(S.users.c.email == email)).first()
            if row is None:
                uid = new_id()
                c.execute(
                    S.users.insert().values(id=uid, email=email, created_at=now, disabled=False)
                )
                return User(uid, email)
            if row.disabled:
                raise _denied()
            return User(row.id, row.email)

    # -- sessions ------------------------------------------------------------------
    def create_session(self, user: User) -> str:
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        with self._tx() as c:
            c.execute(
                S.sessions.insert().values(
                    token_hash=digest(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + self.settings.session_ttl,
                    last_seen_at=now,
                )
            )
        return token

    def delete_session(self, token: str) -> None:
        from sqlalchemy import delete

        with self._tx() as c:
            c.execute(delete(S.sessions).where(S.sessions.c.token_hash == digest(token)))

    # -- API tokens ------------------------------------------------------------------
    def create_api_token(self, user: User, name: str) -> tuple[str, str]:
        """Returns (token id, token). The token is shown once and stored hashed."""
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        tid = new_id()
        with self._tx() as c:
            c.execute(
                S.api_tokens.insert().values(
                    id=tid,
                    token_hash=digest(token),
                    user_id=user.id,
                    name=(name or "cli")[:128],
                    created_at=time.time(),
                )
            )
        return tid, token

    def list_api_tokens(self, user: User) -> list[ApiTokenInfo]:
        from sqlalchemy import select

        t = S.api_tokens
        with self._read() as c:
            rows = c.execute(select(t).where(t.c.user_id == user.id).order_by(t.c.created_at)).all()
        return [
            ApiTokenInfo(r.id, r.name, r.created_at, r.last_used_at, r.revoked_at) for r in rows
        ]

    def revoke_api_token(
        self, user: User, *, token_id: str | None = None, token: str | None = None
    ) -> bool:
        from sqlalchemy import update

        t = S.api_tokens
        q = update(t).where(t.c.user_id == user.id, t.c.revoked_at.is_(None))
        q = (
            q.where(t.c.id == token_id)
            if token_id
            else q.where(t.c.token_hash == digest(token or ""))
        )
        with self._tx() as c:
            return c.execute(q.values(revoked_at=time.time())).rowcount == 1

    # -- authentication --------------------------------------------------------------
    def authenticate(self, secret: str | None) -> User | None:
        """The user a session or API token belongs to, or None (expired, revoked, unknown)."""
        from sqlalchemy import select, update

        if not secret or len(secret) > 200:
            return None
        h = digest(secret)
        now = time.time()
        u = S.users
        with self._read() as c:
            if secret.startswith(SESSION_PREFIX):
                s = S.sessions
                row = c.execute(
                    select(u.c.id, u.c.email, u.c.disabled, s.c.last_seen_at)
                    .join(s, s.c.user_id == u.c.id)
                    .where(s.c.token_hash == h, s.c.expires_at > now)
                ).first()
                table, key = s, s.c.token_hash
            elif secret.startswith(API_TOKEN_PREFIX):
                t = S.api_tokens
                row = c.execute(
                    select(u.c.id, u.c.email, u.c.disabled, t.c.last_used_at)
                    .join(t, t.c.user_id == u.c.id)
                    .where(t.c.token_hash == h, t.c.revoked_at.is_(None))
                ).first()
                table, key = t, t.c.token_hash
            else:
                return None
        if row is None or row.disabled:
            return None
        if (row[3] or 0) < now - 60:  # record use at most once a minute: reads stay cheap
            col = "last_seen_at" if table is S.sessions else "last_used_at"
            with self._tx() as c:
                c.execute(update(table).where(key == h).values(**{col: now}))
        return User(row.id, row.email)
