"""The composition root: one ``Platform`` wires every port from the config.

The CLI, the server, the worker and the orchestrator all start from here; nothing else
reads config. Adapters are built lazily on first use, so a command that only needs the
task store never imports boto3 or redis.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from functools import cached_property
from pathlib import Path
from typing import Any

from rclaude.config.schema import Config
from rclaude.errors import ConfigError

#: Compute backends by provider name: "module:Class". Modes of aws live inside AwsCompute.
COMPUTE_BACKENDS = {
    "local": "rclaude.compute.local:LocalCompute",
    "aws": "rclaude.compute.aws:AwsCompute",
    "fly": "rclaude.compute.fly:FlyCompute",
    "codespace": "rclaude.compute.codespace:CodespaceCompute",
}

#: Config sections a worker needs to reach the same queue, store, log and database.
_WORKER_KEYS = ("queue", "storage", "log", "database", "sqs", "s3", "redis", "tasks")


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}__{k.upper()}", v, out)
    elif value is not None:
        out[prefix] = value if isinstance(value, str) else json.dumps(value)


def worker_env(config: Config, *, include_data_dir: bool = False) -> dict[str, str]:
    """Environment variables that give a worker this platform's adapter settings.

    Holds no secrets: credentials come from the worker's own AWS credential chain
    (instance profile, task role) and secret store, never from here.
    """
    out: dict[str, str] = {}
    dumped = config.model_dump(mode="json", by_alias=False)
    for key in _WORKER_KEYS:
        _flatten(f"RCLAUDE_{key.upper()}", dumped[key], out)
    if config.aws.endpoint_url:
        out["RCLAUDE_AWS__ENDPOINT_URL"] = config.aws.endpoint_url
    out["RCLAUDE_AWS__REGION"] = config.aws.region
    # Where the stack's secrets live (ARNs are not secret; the values are read by the
    # worker's own role through rclaude.secretstore).
    _flatten(
        "RCLAUDE_AWS__STACK",
        {k: v for k, v in dumped["aws"]["stack"].items() if k.endswith("_arn")},
        out,
    )
    if include_data_dir:
        out["RCLAUDE_DATA_DIR"] = str(config.resolved_data_dir())
    # A Redis URL may carry a password: workers get it from their secret store instead
    # (the stack's redis secret), so they are given the URL without it.
    from rclaude.secretstore import url_has_password, without_password

    url = out.get("RCLAUDE_REDIS__URL", "")
    if url_has_password(url):
        out["RCLAUDE_REDIS__URL"] = without_password(url)
    return out


class Platform:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.data_dir = config.resolved_data_dir()

    # -- embedded plumbing ----------------------------------------------------
    @cached_property
    def db_path(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / "rclaude.db"

    @cached_property
    def bells(self):
        from rclaude.doorbell import Doorbells

        return Doorbells(str(self.db_path.resolve()))

    @cached_property
    def sqlite(self):
        from rclaude.adapters.sqlite_db import SqliteDB

        if self.config.database == "sqlite":
            # The task store is in the same file: its per-thread connection serves the
            # queue and the log too, so ``atomic`` can span all three.
            return SqliteDB(self.db_path, "", connect=self.tasks.driver_connection)
        return SqliteDB(self.db_path, "")

    def atomic(self):
        """A block whose writes to the queue, the log and the task store commit together
        when all three are the embedded SQLite file (fewer commits, no partial state);
        elsewhere each write commits on its own, in the block's order."""
        if (
            self.config.database == "sqlite"
            and self.config.queue != "sqs"
            and self.config.log != "redis"
        ):
            # Adapters are created first: their schema DDL must not run inside the block.
            self.queue, self.log  # noqa: B018
            return self.tasks.atomic()
        return nullcontext()

    # -- ports ----------------------------------------------------------------
    @cached_property
    def queue(self):
        if self.config.queue == "sqs":
            from rclaude.adapters.sqs_queue import SqsQueue

            return SqsQueue(self.config)
        from rclaude.adapters.sqlite_queue import SqliteQueue

        return SqliteQueue(self.sqlite, self.bells)

    @cached_property
    def store(self):
        if self.config.storage == "s3":
            from rclaude.adapters.s3_store import S3ObjectStore

            return S3ObjectStore(self.config)
        from rclaude.adapters.fs_store import FsObjectStore

        return FsObjectStore(self.data_dir / "blobs")

    @cached_property
    def log(self):
        if self.config.log == "redis":
            from rclaude.adapters.redis_log import RedisOutputLog

            password = self._secret(
                "RCLAUDE_REDIS_PASSWORD", self.config.aws.stack.redis_secret_arn
            )
            if password:
                from rclaude.secretstore import with_password

                cfg = self.config.model_copy(deep=True)
                cfg.redis.url = with_password(cfg.redis.url, password)
                return RedisOutputLog(cfg)
            return RedisOutputLog(self.config)
        from rclaude.adapters.sqlite_log import SqliteOutputLog

        return SqliteOutputLog(self.sqlite, self.bells)

    @cached_property
    def tasks(self):
        from rclaude.adapters.sql_store import SqlTaskStore

        url = self.config.database
        if url == "sqlite":
            url = f"sqlite:///{self.db_path}"
        else:
            from rclaude.secretstore import with_password

            url = with_password(
                url,
                self._secret(
                    "RCLAUDE_DATABASE_PASSWORD", self.config.aws.stack.database_secret_arn
                ),
            )
        return SqlTaskStore(url)

    def _secret(self, env_name: str, arn: str | None) -> str | None:
        from rclaude.secretstore import read_secret

        aws = self.config.aws
        return read_secret(
            env_name=env_name, secret_arn=arn, region=aws.region, endpoint_url=aws.endpoint_url
        )

    @cached_property
    def compute(self):
        return self.compute_for(self.config.backend)

    def compute_for(self, backend: str, aws_mode: str | None = None):
        import importlib

        spec = COMPUTE_BACKENDS.get(backend)
        if spec is None:
            raise ConfigError(
                f"unknown backend '{backend}'",
                code="RC-CONFIG-002",
                hint=f"choose one of: {', '.join(COMPUTE_BACKENDS)}",
            )
        module, cls = spec.split(":")
        try:
            factory = getattr(importlib.import_module(module), cls)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                f"backend '{backend}' is not available in this installation ({exc.name} missing)",
                code="RC-CONFIG-005",
                hint="install rclaude[all]",
            ) from None
        config = self.config
        if aws_mode and backend == "aws":
            config = config.model_copy(deep=True)
            config.aws.mode = aws_mode
        if backend == "local":
            return factory(self)
        return factory(config, worker_env(config), is_idle=self.worker_is_idle)

    def worker_is_idle(self, worker_id: str) -> bool:
        """Idle per the worker registry. A worker that has not registered yet (still
        booting) is not idle: scale-down must never stop it; ``workers gc`` sweeps
        workers that never come up."""
        for w in self.tasks.workers():
            if w.id == worker_id:
                return w.idle
        return False

    @cached_property
    def service(self):
        from rclaude.service import TaskService

        return TaskService(self)

    def close(self) -> None:
        for name in ("queue", "store", "log"):
            obj = self.__dict__.get(name)
            if obj is not None:
                closer = getattr(obj, "close_log" if name == "log" else "close", None)
                if closer:
                    closer()
        if "sqlite" in self.__dict__:
            self.sqlite.close()
        if "tasks" in self.__dict__:  # last: the embedded queue and log may use its connections
            self.tasks.close()

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
