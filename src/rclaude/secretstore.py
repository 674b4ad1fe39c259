"""Secrets a process needs at run time (Redis AUTH token, database password), read at
the edge and never written to config files, user-data, logs or command lines.

Lookup order for one secret: an environment variable (ECS and Fargate inject stack
secrets this way), then AWS Secrets Manager by ARN through the standard credential
chain (an EC2 worker's instance role). A secret stored as JSON (as RDS and the
``init-deployment`` stack write them) yields its ``password`` field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from rclaude.errors import AuthError


def read_secret(
    *,
    env_name: str,
    secret_arn: str | None,
    region: str | None = None,
    endpoint_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """The secret's value, or None if neither source is configured."""
    env = os.environ if env is None else env
    if env.get(env_name):
        return env[env_name]
    if not secret_arn:
        return None
    from rclaude import awsutil

    sm = awsutil.client("secretsmanager", region=region, endpoint_url=endpoint_url)
    with awsutil.translate_aws_errors(f"read secret {secret_arn}"):
        raw = sm.get_secret_value(SecretId=secret_arn).get("SecretString")
    if raw is None:
        raise AuthError(
            f"secret {secret_arn} has no string value",
            code="RC-SECRET-001",
            hint="store the password as a string or as JSON with a 'password' field",
        )
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(doc, dict) and "password" in doc:
        return str(doc["password"])
    return raw


#: Query parameters that carry a password in Redis (redis-py) and PostgreSQL (libpq) URLs.
_PASSWORD_PARAMS = frozenset({"password", "pass", "passwd"})


def url_has_password(url: str) -> bool:
    """A password in ``url``'s user part or in its query (``?password=``)."""
    from urllib.parse import parse_qsl, urlsplit

    try:
        parts = urlsplit(url)
        if parts.password is not None:
            return True
    except ValueError:
        return False
    return any(k.lower() in _PASSWORD_PARAMS for k, _ in parse_qsl(parts.query, True))


def without_password(url: str) -> str:
    """``url`` with any password removed (user part and query); the rest kept."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in _PASSWORD_PARAMS
        ]
    )
    user = parts.netloc.rpartition("@")[0].partition(":")[0] if "@" in parts.netloc else ""
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` set when it has none (SQLAlchemy and Redis URLs)."""
    if not password or url_has_password(url):
        return url
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    host = parts.netloc.rpartition("@")[2]  # as written: keeps [IPv6] brackets and port
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
