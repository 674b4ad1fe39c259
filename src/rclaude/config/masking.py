"""Masking of secret-looking values before they are printed (show, error messages).

A value is masked when its key looks like a secret (token, secret, password,
credential, private key, API key, webhook URL) or when it is a URL with a password in
it (``redis://:pw@host`` -> ``redis://:***@host``). Keys ending in ``_env`` hold the
NAME of a variable, not a secret, and are shown.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_SECRET_KEY = re.compile(
    r"(token|secret|passw(or)?d|credential|private_key|api_key|apikey|webhook_url)", re.I
)
_URL_PASSWORD = re.compile(
    r"^(?P<head>[a-z][a-z0-9+.-]*://[^:/@]*:)(?P<pw>[^@/]+)(?P<tail>@.*)$", re.I
)


def is_secret_key(dotted: str) -> bool:
    leaf = dotted.rsplit(".", 1)[-1]
    return not leaf.endswith("_env") and bool(_SECRET_KEY.search(leaf))


def mask(dotted: str, value: Any) -> Any:
    """``value`` as safe to print for key ``dotted``."""
    if value is None or value == "" or value == []:
        return value
    if is_secret_key(dotted):
        return MASK
    if isinstance(value, str):
        m = _URL_PASSWORD.match(value)
        if m:
            return m.group("head") + MASK + m.group("tail")
    return value
