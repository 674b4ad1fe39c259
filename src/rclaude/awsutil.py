"""boto3 clients built one way, and botocore errors translated into rclaude's tree.

Every AWS adapter (compute, infra, SQS, S3, SES, Secrets Manager) builds its clients
with :func:`client` and wraps calls in :func:`translate_aws_errors`, so callers only
ever see :class:`~rclaude.errors.RclaudeError`:

    NoCredentialsError, PartialCredentialsError           -> AuthError     RC-AWS-001
    ClientError AccessDenied / UnauthorizedOperation / ... -> AuthError     RC-AWS-002
    EndpointConnectionError, ConnectTimeoutError           -> BackendError  RC-AWS-003
    any other ClientError / BotoCoreError                  -> BackendError  RC-AWS-004
    ProfileNotFound                                        -> ConfigError   RC-AWS-005

The translated error keeps the AWS error code in ``aws_code`` (None when there is none)
so callers can still branch on it (e.g. ``InsufficientInstanceCapacity``).
boto3 is imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rclaude.errors import AuthError, BackendError, ConfigError, RclaudeError

#: Adaptive client-side rate limiting plus retries: AWS throttles bursts of RunInstances.
RETRY_CONFIG = {"mode": "adaptive", "max_attempts": 8}

#: Error codes that mean "who you are is not allowed", not "the service failed".
AUTH_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
        "OptInRequired",
    }
)


def client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
    max_attempts: int | None = None,
    connect_timeout: float | None = None,
) -> Any:
    """A boto3 client for ``service`` with adaptive retries.

    ``max_attempts``/``connect_timeout`` shorten retries for optional look-ups (a live
    spot price) that must not hang a command when AWS is unreachable.

    ``endpoint_url`` points every call at another endpoint (a moto server in tests,
    LocalStack, a VPC endpoint); None means AWS itself. Credentials come from the
    standard chain (env, profile, instance role); they are never passed in argv.
    """
    import boto3
    import botocore.session
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import ProfileNotFound

    core = botocore.session.get_session()
    # One JSON-model loader per process: each new session otherwise re-reads and
    # re-parses the service models (~100 ms per client).
    core.register_component("data_loader", _shared_loader())
    try:
        session = boto3.session.Session(botocore_session=core, profile_name=profile)
        return session.client(
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            config=BotoConfig(
                retries={
                    **RETRY_CONFIG,
                    **({"max_attempts": max_attempts} if max_attempts else {}),
                },
                connect_timeout=connect_timeout or 60,
                user_agent_extra="rclaude",
            ),
        )
    except ProfileNotFound:
        raise ConfigError(
            f"AWS profile {profile!r} does not exist",
            code="RC-AWS-005",
            hint="run `aws configure list-profiles`, or set aws.profile to an existing profile",
        ) from None


@functools.lru_cache(maxsize=1)
def _shared_loader() -> Any:
    import botocore.loaders

    return botocore.loaders.create_loader()


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (or a translated error), else None."""
    code = getattr(exc, "aws_code", None)
    if code:
        return code
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def translate(exc: BaseException, action: str) -> RclaudeError:
    """Map one botocore exception raised while doing ``action`` to an RclaudeError."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    err: RclaudeError
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        err = AuthError(
            f"no AWS credentials found while trying to {action}",
            code="RC-AWS-001",
            hint="run `aws configure` or `aws sso login`, set AWS_PROFILE, or run on an "
            "instance/task with a role",
        )
    elif isinstance(exc, ProfileNotFound):
        err = ConfigError(
            f"{exc} while trying to {action}",
            code="RC-AWS-005",
            hint="set aws.profile to an existing profile",
        )
    elif isinstance(exc, NoRegionError):
        err = ConfigError(
            f"no AWS region set while trying to {action}",
            code="RC-AWS-006",
            hint="set aws.region in config.yaml or pass --region",
        )
    elif isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        err = BackendError(
            f"cannot reach AWS while trying to {action}: {exc}",
            code="RC-AWS-003",
            hint="check the network, the region name and aws.endpoint_url",
        )
    elif isinstance(exc, ClientError):
        code = error_code(exc) or "Unknown"
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        if code in AUTH_ERROR_CODES:
            err = AuthError(
                f"AWS denied permission to {action}: {code}: {message}",
                code="RC-AWS-002",
                hint="grant the IAM permission named above to your user/role "
                "(`rclaude check --backend aws` lists what is needed)",
            )
        else:
            err = BackendError(f"AWS failed to {action}: {code}: {message}", code="RC-AWS-004")
        err.aws_code = code  # type: ignore[attr-defined]
        return err
    elif isinstance(exc, BotoCoreError):
        err = BackendError(f"AWS client error while trying to {action}: {exc}", code="RC-AWS-004")
    else:
        raise TypeError(f"not a botocore error: {exc!r}")
    err.aws_code = None  # type: ignore[attr-defined]
    return err


@contextmanager
def translate_aws_errors(action: str) -> Iterator[None]:
    """Run a block of boto3 calls; re-raise botocore errors as RclaudeError.

    ``action`` completes the sentence "while trying to …" (e.g. "launch EC2 workers").
    RclaudeErrors raised inside pass through untouched.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, action) from exc
