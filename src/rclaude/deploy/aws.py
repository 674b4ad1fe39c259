"""boto3 access for the deployer: one session, cached clients, counted calls.

Every API call goes through a ``before-call`` hook that counts it and marks it
*mutating* unless its name starts with Describe/Get/List/Head. ``create`` relies on
this to prove that a converged re-run changes nothing, and the benchmark reports it.
boto3 is imported lazily here so ``import rclaude`` stays cheap.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager

from rclaude.errors import AuthError, BackendError

READ_PREFIXES = ("Describe", "Get", "List", "Head")
TAG_ID = "spot:deployment-id"


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


class AwsContext:
    """A boto3 session plus per-(service, region) clients and call counters."""

    def __init__(self, *, endpoint_url: str | None = None, profile: str | None = None) -> None:
        import boto3

        self.endpoint_url = endpoint_url
        self.session = boto3.session.Session(profile_name=profile)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], object] = {}
        self.session.events.register("before-call", self._count)

    def _count(self, model=None, **_kwargs) -> None:
        if model is None:
            return
        name = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            self.calls[name] += 1

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def mutating_calls(self) -> dict[str, int]:
        return {k: v for k, v in self.calls.items() if is_mutating(k.split(":", 1)[1])}

    def client(self, service: str, region: str):
        """A cached client; creation is serialized because sessions are not thread-safe."""
        from botocore.config import Config

        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=Config(
                        retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=20
                    ),
                )
            return self._clients[key]


def error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


@contextmanager
def translated(action: str):
    """Translate botocore errors into the rclaude error tree at this boundary."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise AuthError(
            f"{action}: no AWS credentials found",
            code="RC-DEPLOY-060",
            hint="configure credentials (aws configure, AWS_PROFILE or env vars)",
        ) from None
    except ClientError as exc:
        code = error_code(exc)
        if code in (
            "AuthFailure",
            "UnauthorizedOperation",
            "AccessDenied",
            "AccessDeniedException",
            "InvalidClientTokenId",
        ):
            raise AuthError(
                f"{action}: {exc}",
                code="RC-DEPLOY-061",
                hint="check the IAM permissions of your AWS identity",
            ) from None
        raise BackendError(f"{action}: {exc}", code="RC-DEPLOY-062") from None
    except BotoCoreError as exc:
        raise BackendError(
            f"{action}: {exc}",
            code="RC-DEPLOY-063",
            hint="check network access and the endpoint URL",
        ) from None


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tag_spec(resource: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": resource, "Tags": tag_list(tags)}]
