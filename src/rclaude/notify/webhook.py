"""Signed webhook delivery with retries.

Signature: ``X-Rclaude-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`` keyed
with the shared secret (GitHub's scheme, so existing receivers' code fits). Receivers
compare with :func:`verify` (constant time). The body carries ``delivery`` (unique id)
and ``timestamp`` so receivers can drop replays.

Retries: connection errors, 408, 429 and 5xx are retried up to ``retries`` times,
waiting ``Retry-After`` when the receiver sends it (capped at ``max_delay``) and
otherwise ``backoff * 2**n``. Other 4xx answers are final.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from rclaude.compute.restapi import backoff_delay, retry_after_seconds

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Rclaude-Signature-256"
EVENT_HEADER = "X-Rclaude-Event"
DELIVERY_HEADER = "X-Rclaude-Delivery"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def sign(secret: str | bytes, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """True if ``header`` is the signature of ``body`` under ``secret``."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


@dataclass
class Delivery:
    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"sent (HTTP {self.status}, {self.attempts} attempt(s))"
        return f"failed after {self.attempts} attempt(s): {self.error}"


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    retries: int = 4,
    backoff: float = 1.0,
    max_delay: float = 60.0,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``body`` to ``url`` with retries; never raises. URLs are not logged (secrets)."""
    import httpx

    # The transport is used directly: httpx.Client logs each request's full URL at INFO,
    # and a Slack webhook URL is itself a secret.
    transport = httpx.HTTPTransport(retries=0)
    extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
    attempt = 0
    with transport:
        while True:
            attempt += 1
            wait_hint = None
            try:
                request = httpx.Request(
                    "POST", url, content=body, headers=headers, extensions=extensions
                )
                resp = transport.handle_request(request)
                resp.read()
                resp.close()
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                error, status = f"{type(exc).__name__}", None
            else:
                status = resp.status_code
                if status < 300:
                    return Delivery(True, attempt, status)
                error = f"HTTP {status}"
                if status not in RETRY_STATUSES:
                    return Delivery(False, attempt, status, error)
                wait_hint = retry_after_seconds(resp.headers.get("Retry-After"))
            if attempt > retries:
                return Delivery(False, attempt, status, error)
            delay = backoff_delay(attempt - 1, backoff, max_delay, wait_hint)
            log.info("notification delivery %s; retry %d in %.1fs", error, attempt, delay)
            sleep(delay)
