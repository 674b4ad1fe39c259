"""The ``fly`` compute backend: workers are Fly Machines created through the Machines API.

Lifecycle of one worker:

1. ``launch`` validates region, guest size and token *before* any call that creates
   something, then stores ``worker_env`` as **app secrets** (``POST /v1/apps/{app}/secrets``)
   so queue/store credentials never sit in a machine's visible config, then creates the
   machine (``POST /v1/apps/{app}/machines``) with the configured image, guest size,
   region, ``auto_destroy: true`` and metadata ``rclaude-role=worker``, and waits for it
   to reach ``started`` (``GET …/machines/{id}/wait``).
2. The machine runs ``rclaude worker``; when the worker exits on its idle timeout the
   machine stops and Fly destroys it (``auto_destroy``).
3. ``list`` asks Fly for machines with ``metadata.rclaude-role=worker``.
4. ``stop(ids)`` stops and destroys only those that are idle: ``is_idle(id)`` decides when
   given (the worker registry), otherwise only machines that are not running.

Worker ids are Fly machine ids; inside the machine Fly sets ``FLY_MACHINE_ID``, which the
worker uses as its id so the registry and this backend agree. Launch is idempotent per
``token``: machines carry ``rclaude-launch=<token>`` metadata and a retry reuses them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from rclaude.errors import AuthError, ConfigError, RclaudeError, Where, closest
from rclaude.model import WorkerInfo

#: Fly.io region codes (https://fly.io/docs/reference/regions/).
FLY_REGIONS = frozenset(
    [
        "ams",
        "arn",
        "atl",
        "bog",
        "bom",
        "bos",
        "cdg",
        "den",
        "dfw",
        "ewr",
        "eze",
        "fra",
        "gdl",
        "gig",
        "gru",
        "hkg",
        "iad",
        "jnb",
        "lax",
        "lhr",
        "mad",
        "mia",
        "nrt",
        "ord",
        "otp",
        "phx",
        "qro",
        "scl",
        "sea",
        "sin",
        "sjc",
        "syd",
        "waw",
        "yul",
        "yyz",
    ]
)
#: Guest presets → (cpu_kind, cpus); memory per CPU bounds in MB by kind.
GUEST_PRESETS = {
    **{f"shared-cpu-{n}x": ("shared", n) for n in (1, 2, 4, 8)},
    **{f"performance-{n}x": ("performance", n) for n in (1, 2, 4, 8, 16)},
}
MEMORY_PER_CPU = {"shared": (256, 2048), "performance": (2048, 8192)}
ROLE_KEY, ROLE = "rclaude-role", "worker"
LAUNCH_KEY = "rclaude-launch"

_STATE_MAP = {
    "created": "starting",
    "starting": "starting",
    "started": "running",
    "stopping": "stopping",
    "stopped": "stopped",
    "suspending": "stopping",
    "suspended": "stopped",
    "replacing": "starting",
    "destroying": "stopping",
    "destroyed": "gone",
    "failed": "gone",
}


def _launch_tag(token: str) -> str:
    """A name-safe, bounded form of a launch token (machine names allow [a-z0-9-])."""
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()[:16]


def guest_spec(guest: str, memory_mb: int) -> dict[str, Any]:
    """The machine ``guest`` object for a preset and memory size; ConfigError if invalid."""
    preset = GUEST_PRESETS.get(guest)
    if preset is None:
        near = closest(guest, list(GUEST_PRESETS))
        raise ConfigError(
            f"unknown Fly guest size {guest!r}",
            code="RC-FLY-002",
            where=Where(key="fly.guest"),
            hint=(f"did you mean {near!r}? " if near else "")
            + "valid: "
            + ", ".join(GUEST_PRESETS),
        )
    kind, cpus = preset
    lo, hi = MEMORY_PER_CPU[kind]
    if memory_mb % 256 or not lo * cpus <= memory_mb <= hi * cpus:
        raise ConfigError(
            f"memory {memory_mb} MB is not valid for Fly guest {guest}",
            code="RC-FLY-003",
            where=Where(key="fly.memoryMb"),
            hint=f"use a multiple of 256 between {lo * cpus} and {hi * cpus} MB",
        )
    return {"cpu_kind": kind, "cpus": cpus, "memory_mb": memory_mb}


def validate_settings(fly) -> dict[str, Any]:
    """Check app, region and guest size offline; return the guest object."""
    if not fly.app:
        raise ConfigError(
            "no Fly app configured",
            code="RC-FLY-001",
            where=Where(key="fly.app"),
            hint="create one with `fly apps create NAME` and set fly.app: NAME",
        )
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", fly.app):
        raise ConfigError(
            f"invalid Fly app name {fly.app!r}",
            code="RC-FLY-006",
            where=Where(key="fly.app"),
            hint="Fly app names use lower-case letters, digits and '-'",
        )
    if fly.region not in FLY_REGIONS:
        near = closest(fly.region, sorted(FLY_REGIONS))
        raise ConfigError(
            f"unknown Fly region {fly.region!r}",
            code="RC-FLY-004",
            where=Where(key="fly.region"),
            hint=(f"did you mean {near!r}? " if near else "") + "see `fly platform regions`",
        )
    return guest_spec(fly.guest, fly.memory_mb)


class FlyCompute:
    """Workers as Fly Machines (see the module docstring for the contract)."""

    name = "fly"

    def __init__(
        self,
        config,
        worker_env: dict[str, str],
        *,
        is_idle: Callable[[str], bool] | None = None,
        token: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = config.fly
        self.worker_env = dict(worker_env)
        self.is_idle = is_idle
        self._token = token
        self._sleep = sleep
        self._client = None

    # -- plumbing -------------------------------------------------------------------
    def _api(self):
        if self._client is None:
            from rclaude.compute.restapi import ApiClient
            from rclaude.compute.tokens import require_fly_token

            token = self._token or require_fly_token().value
            self._client = ApiClient(
                "Fly Machines",
                self.settings.api_url,
                token,
                sleep=self._sleep,
                error_prefix="RC-FLY",
            )
        return self._client

    @property
    def _app_path(self) -> str:
        return f"/v1/apps/{self.settings.app}"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def preflight(self) -> dict[str, Any]:
        """Validate settings, token and app access; nothing is created. Returns guest."""
        guest = validate_settings(self.settings)
        api = self._api()  # raises the "no token" AuthError itself
        try:
            api.json("GET", self._app_path)
        except AuthError as exc:
            raise AuthError(
                f"Fly.io rejected the token for app {self.settings.app!r}: {exc.message}",
                code="RC-FLY-401",
                hint="set FLY_API_TOKEN to a token for this app's organisation "
                "(`fly tokens create deploy -a APP`)",
            ) from None
        except RclaudeError as exc:
            if exc.code == "RC-FLY-404":
                raise ConfigError(
                    f"Fly app {self.settings.app!r} not found",
                    code="RC-FLY-005",
                    where=Where(key="fly.app"),
                    hint="create it with `fly apps create` or fix fly.app",
                ) from None
            raise
        return guest

    # -- Compute port ---------------------------------------------------------------
    def launch(self, n: int, *, token: str | None = None) -> list[WorkerInfo]:
        if n <= 0:
            return []
        guest = self.preflight()
        existing = self._machines(LAUNCH_KEY, _launch_tag(token)) if token else []
        started = [self._info(m) for m in existing]
        if len(existing) >= n:
            return started[:n]
        if self.worker_env:
            self._api().json("POST", f"{self._app_path}/secrets", json={"values": self.worker_env})
        for i in range(len(existing), n):
            body = self._machine_body(guest, token, i)
            machine = self._api().json("POST", f"{self._app_path}/machines", json=body)
            self._wait_started(machine)
            started.append(self._info({**machine, "state": "started"}))
        return started

    def list(self) -> list[WorkerInfo]:
        return [
            self._info(m)
            for m in self._machines(ROLE_KEY, ROLE)
            if m.get("state") not in ("destroyed", "destroying")
        ]

    def stop(self, worker_ids: Iterable[str]) -> list[str]:
        wanted = set(worker_ids)
        stopped = []
        for machine in self._machines(ROLE_KEY, ROLE):
            mid = machine["id"]
            if mid not in wanted or not self._idle(machine):
                continue
            path = f"{self._app_path}/machines/{mid}"
            if machine.get("state") in ("started", "starting"):
                self._api().request("POST", f"{path}/stop", json={}, ok=(404,))
            self._api().request("DELETE", path, params={"force": "true"}, ok=(404,))
            stopped.append(mid)
        return stopped

    def describe(self) -> dict[str, Any]:
        s = self.settings
        return {
            "backend": "fly",
            "app": s.app,
            "region": s.region,
            "image": s.image,
            "guest": s.guest,
            "memory_mb": s.memory_mb,
            "api_url": s.api_url,
        }

    # -- helpers ------------------------------------------------------------------
    def _machine_body(self, guest: dict[str, Any], token: str | None, index: int) -> dict:
        metadata = {ROLE_KEY: ROLE}
        name = None
        if token:
            metadata[LAUNCH_KEY] = _launch_tag(token)
            name = f"rclaude-{_launch_tag(token)}-{index}"
        body: dict[str, Any] = {
            "region": self.settings.region,
            "config": {
                "image": self.settings.image,
                "guest": guest,
                "auto_destroy": True,
                "restart": {"policy": "no"},
                "metadata": metadata,
                # Names only: the values live in the app's secrets.
                "env": {"RCLAUDE_WORKER_BACKEND": "fly"},
                "init": {"cmd": list(self.settings.cmd)},
            },
        }
        if name:
            body["name"] = name
        return body

    def _wait_started(self, machine: dict[str, Any]) -> None:
        # One wait call blocks server-side for up to 60 s; 408 means "not yet".
        per_call = min(self.settings.wait_timeout, 60)
        path = f"{self._app_path}/machines/{machine['id']}/wait"
        params = {"state": "started", "timeout": per_call}
        if machine.get("instance_id"):
            params["instance_id"] = machine["instance_id"]
        for _ in range(-(-self.settings.wait_timeout // per_call)):
            resp = self._api().request("GET", path, params=params, ok=(408,), timeout=per_call + 30)
            if resp.status_code != 408:
                return
        raise RclaudeError(
            f"Fly machine {machine['id']} did not start within {self.settings.wait_timeout}s",
            code="RC-FLY-408",
            hint="check `fly logs -a APP` and the worker image",
        )

    def _machines(self, key: str, value: str) -> list[dict[str, Any]]:
        return (
            self._api().json("GET", f"{self._app_path}/machines", params={f"metadata.{key}": value})
            or []
        )

    def _idle(self, machine: dict[str, Any]) -> bool:
        if machine.get("state") in ("created", "stopped", "suspended", "failed"):
            return True
        return bool(self.is_idle and self.is_idle(machine["id"]))

    def _info(self, machine: dict[str, Any]) -> WorkerInfo:
        fly_state = machine.get("state", "created")
        state = _STATE_MAP.get(fly_state, "starting")
        busy = 0
        if state == "running":
            idle = self.is_idle(machine["id"]) if self.is_idle else False
            state, busy = ("idle", 0) if idle else ("busy", 1)
        return WorkerInfo(
            id=machine["id"],
            backend="fly",
            state=state,
            busy=busy,
            host=machine.get("private_ip"),
            details={
                "region": machine.get("region"),
                "name": machine.get("name"),
                "fly_state": fly_state,
                "instance_id": machine.get("instance_id"),
            },
        )


def check_fly(config, *, env: dict[str, str] | None = None) -> list[tuple[str, bool, str]]:
    """Checks for ``rclaude check``: (name, ok, detail) per check; never raises."""
    from rclaude.compute.tokens import fly_token

    results: list[tuple[str, bool, str]] = []
    try:
        validate_settings(config.fly)
        results.append(("fly settings", True, f"{config.fly.app} in {config.fly.region}"))
    except RclaudeError as exc:
        results.append(("fly settings", False, str(exc)))
        return results
    tok = fly_token(env)
    if tok is None:
        results.append(("fly token", False, "set FLY_API_TOKEN or run `fly auth login`"))
        return results
    results.append(("fly token", True, f"from {tok.source}"))
    compute = FlyCompute(config, {}, token=tok.value)
    try:
        compute.preflight()
        results.append(("fly app reachable", True, config.fly.app))
    except RclaudeError as exc:
        results.append(("fly app reachable", False, str(exc)))
    finally:
        compute.close()
    return results
