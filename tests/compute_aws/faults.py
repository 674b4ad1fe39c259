"""Capacity faults and call records on a *real* boto3 client talking to moto.

Moto never runs out of capacity, so tests inject AWS's capacity errors with a botocore
``before-call`` event hook on the production client: a call the predicate selects gets
the error response AWS would send (HTTP 500 + ``InsufficientInstanceCapacity``);
every other call goes over HTTP to the moto server unchanged. ``record`` observes the
API parameters of real calls without changing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class _Http:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


def inject_error(
    client: Any,
    operation: str,
    predicate: Callable[[dict], bool],
    *,
    code: str = "InsufficientInstanceCapacity",
    message: str = "We currently do not have sufficient capacity in the Availability Zone",
    status: int = 500,
) -> list[dict]:
    """Make ``operation`` fail with ``code`` when ``predicate(request_params)`` is true.

    Returns the list of request bodies that were failed (for assertions).
    """
    failed: list[dict] = []
    service = client.meta.service_model.service_id.hyphenize()

    def handler(params: dict, **_: Any):
        body = params.get("body")
        body = body if isinstance(body, dict) else {}
        if predicate(body):
            failed.append(body)
            return _Http(status), {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
        return None

    client.meta.events.register(f"before-call.{service}.{operation}", handler)
    return failed


def inject_response(
    client: Any, operation: str, predicate: Callable[[dict], bool], response: dict
) -> list[dict]:
    """Answer ``operation`` with ``response`` (HTTP 200) when ``predicate(params)``."""
    answered: list[dict] = []
    service = client.meta.service_model.service_id.hyphenize()

    def handler(params: dict, **_: Any):
        import json

        body = params.get("body")
        if isinstance(body, bytes | str):
            try:
                body = json.loads(body or b"{}")
            except ValueError:
                body = {}
        if predicate(body or {}):
            answered.append(body)
            return _Http(200), response
        return None

    client.meta.events.register(f"before-call.{service}.{operation}", handler)
    return answered


def record(client: Any, operation: str) -> list[dict]:
    """Record the API parameters of every ``operation`` call (they still go to moto)."""
    calls: list[dict] = []
    service = client.meta.service_model.service_id.hyphenize()

    def handler(params: dict, **_: Any) -> None:
        calls.append(dict(params))

    client.meta.events.register(f"provide-client-params.{service}.{operation}", handler)
    return calls
