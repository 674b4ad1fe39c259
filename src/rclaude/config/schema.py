"""The strict schema of ``config.yaml`` / ``.rclaude.yaml``.

Keys are accepted in camelCase (as the seed documents write them) or snake_case.
Unknown keys are errors (``extra="forbid"``); the loader turns pydantic's errors into
``ConfigError`` with file, line and the closest valid key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

PROVIDERS = ("local", "codespace", "aws", "fly")
AWS_MODES = ("ec2", "ecs", "shared", "fargate")
#: Legacy backend names and the provider/mode they became.
LEGACY_BACKENDS = {
    "ec2": ("aws", "ec2"),
    "ecs-ec2": ("aws", "ecs"),
    "ec2-shared": ("aws", "shared"),
}


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_assignment=True,
    )


class Ec2Settings(Section):
    instance_type: str = "t3.medium"
    #: Tried in order after ``instance_type`` on capacity errors.
    fallback_instance_types: list[str] = Field(default_factory=list)
    spot_instance: bool = True
    spot_max_price: float | None = None
    ami: str = "auto"
    subnet_ids: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    instance_profile: str | None = None
    root_volume_gb: int = 30
    #: AZs tried in order on capacity errors when no subnet_ids are given ([] = all).
    availability_zones: list[str] = Field(default_factory=list)
    #: What the worker's cloud-init installs with pip (a version pin or a wheel URL).
    worker_package: str = "rclaude[aws,redis,postgres]"


class EcsSettings(Section):
    cluster_name: str = "remote-claude"
    instance_type: str = "t3.medium"
    task_definition: str = "rclaude-worker"
    cpu: int = 1024
    memory: int = 2048
    #: The container in the task definition that runs `rclaude worker`.
    container_name: str = "worker"
    #: ECS capacity provider (an Auto Scaling group) to place tasks on; None = the
    #: EC2 launch type on already registered container instances.
    capacity_provider: str | None = None


class SharedSettings(Section):
    instance_type: str = "t3.large"
    max_tasks_per_instance: int = Field(10, ge=1, le=256)
    #: Tried in order after ``instance_type`` on capacity errors (network, AMI, spot
    #: and instance profile settings come from ``aws.ec2``).
    fallback_instance_types: list[str] = Field(default_factory=list)


class FargateSettings(Section):
    cluster_name: str = "remote-claude"
    task_definition: str = "rclaude-worker"
    cpu: int = 1024
    memory: int = 2048
    spot: bool = True
    subnet_ids: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    assign_public_ip: bool = False
    #: The container in the task definition that runs `rclaude worker`.
    container_name: str = "worker"


class AwsStackSettings(Section):
    """What ``rclaude init-deployment`` created (written from the stack's outputs)."""

    name: str | None = None
    app_secret_arn: str | None = None
    redis_secret_arn: str | None = None
    database_secret_arn: str | None = None
    alarm_topic_arn: str | None = None
    log_group: str | None = None
    server_url: str | None = None


class AwsSettings(Section):
    mode: Literal["ec2", "ecs", "shared", "fargate"] = "ec2"
    region: str = "us-east-1"
    profile: str | None = None
    #: For S3/SQS-compatible endpoints and tests (a moto server); None = AWS itself.
    endpoint_url: str | None = None
    deployment: str = "default"
    ec2: Ec2Settings = Field(default_factory=Ec2Settings)
    ecs: EcsSettings = Field(default_factory=EcsSettings)
    shared: SharedSettings = Field(default_factory=SharedSettings)
    fargate: FargateSettings = Field(default_factory=FargateSettings)
    stack: AwsStackSettings = Field(default_factory=AwsStackSettings)


class FlySettings(Section):
    app: str | None = None
    region: str = "iad"
    image: str = "ghcr.io/rclaude/worker:latest"
    guest: str = "shared-cpu-1x"
    memory_mb: int = 1024
    api_url: str = "https://api.machines.dev"
    #: Command the machine runs (the image's worker entry point); settings arrive as app secrets.
    cmd: list[str] = Field(default_factory=lambda: ["rclaude", "worker"])
    #: Seconds to wait for a new machine to reach ``started`` (the API caps one wait at 60).
    wait_timeout: int = Field(60, ge=1, le=600)


class CodespaceSettings(Section):
    repo: str | None = None
    branch: str | None = None
    machine: str = "basicLinux32gb"
    idle_timeout_minutes: int = 30
    api_url: str = "https://api.github.com"
    #: devcontainer.json whose postStartCommand starts ``rclaude worker`` (None = repo default).
    devcontainer_path: str | None = None
    #: Codespaces whose display name starts with this are ours (list/stop only touch those).
    display_name_prefix: str = "rclaude-"
    wait_timeout: float = Field(600.0, gt=0)
    poll_interval: float = Field(5.0, gt=0)


class SqsSettings(Section):
    queue_name: str = "rclaude-tasks"
    queue_url: str | None = None
    dead_letter_queue_name: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    wait_seconds: int = Field(20, ge=0, le=20)


class S3Settings(Section):
    bucket: str | None = None
    prefix: str = "rclaude/"
    region: str | None = None
    endpoint_url: str | None = None


class RedisSettings(Section):
    url: str = "redis://127.0.0.1:6379/0"
    #: Max entries kept per output stream (XADD MAXLEN ~); 0 = unbounded.
    max_len: int = Field(0, ge=0)
    #: Seconds a finished task's streams are kept; 0 = forever.
    retention_seconds: int = Field(7 * 24 * 3600, ge=0)
    #: Output a worker holds while Redis is unreachable; past it the task fails loudly.
    buffer_bytes: int = Field(64 * 1024 * 1024, ge=0)
    #: Every key starts with this (several deployments can share one Redis).
    key_prefix: str = "rclaude:"
    connect_timeout: float = Field(5.0, gt=0)
    #: How long closing an attempt's log waits for buffered output to reach Redis.
    flush_timeout: float = Field(60.0, gt=0)


class TaskDefaults(Section):
    timeout: float | None = None
    max_attempts: int = Field(3, ge=1, le=100)
    visibility_timeout: float = Field(30.0, gt=0)
    pty: bool = True
    kill_grace: float = Field(5.0, ge=0)


class WorkerSettings(Section):
    idle_timeout: float = Field(60.0, ge=0)
    concurrency: int = Field(1, ge=1, le=256)
    drain_timeout: float = Field(30.0, ge=0)
    heartbeat_interval: float | None = None
    #: Start local workers by forking the launching process (fast) when it is safe.
    fork: bool = True


class OrchestratorSettings(Section):
    min_workers: int = Field(0, ge=0)
    max_workers: int = Field(4, ge=0)
    messages_per_worker: int = Field(1, ge=1)
    activation_threshold: int = Field(1, ge=1)
    scale_down_cooldown: float = Field(60.0, ge=0)
    interval: float = Field(5.0, gt=0)


class ServerSettings(Section):
    url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    public_url: str | None = None
    #: Who may sign in: exact addresses or ``*@domain``; empty = any address.
    allowed_emails: list[str] = Field(default_factory=list)
    #: Extra Origins allowed for WebSocket upgrades and cookie-authenticated writes.
    allowed_origins: list[str] = Field(default_factory=list)
    #: ``dev`` writes magic links to the server log and ``<data dir>/outbox.jsonl``.
    mailer: Literal["dev", "ses"] = "dev"
    mail_from: str = "rclaude <no-reply@localhost>"
    session_ttl: float = Field(default=7 * 86400, gt=0)
    magic_link_ttl: float = Field(default=900, gt=0, le=3600)
    #: Sign-in requests allowed per address and per client IP in ``login_window`` seconds.
    login_limit: int = Field(default=5, ge=1)
    login_window: float = Field(default=900, gt=0)
    orchestrator: bool = True


class AgentSettings(Section):
    command: list[str] = Field(
        default_factory=lambda: [
            "claude",
            "-p",
            "{prompt}",
            "--output-format",
            "stream-json",
            "--verbose",
        ]
    )
    format: Literal["stream-json", "text"] = "stream-json"


class NotifySettings(Section):
    """Where task notifications go; each channel is off until configured."""

    events: list[Literal["start", "success", "failure"]] = Field(
        default_factory=lambda: ["success", "failure"]
    )
    webhook_url: str | None = None
    #: Name of the environment variable holding the webhook's HMAC-SHA256 secret.
    webhook_secret_env: str = "RCLAUDE_WEBHOOK_SECRET"
    #: Slack incoming-webhook URL, or the name of an env var holding it (the URL is a secret).
    slack_webhook_url: str | None = None
    slack_webhook_url_env: str = "RCLAUDE_SLACK_WEBHOOK_URL"
    email: list[str] = Field(default_factory=list)
    retries: int = Field(4, ge=0, le=10)
    backoff: float = Field(1.0, ge=0)
    max_delay: float = Field(60.0, ge=0)
    timeout: float = Field(10.0, gt=0)


class GitSettings(Section):
    """The agent-task git workflow: branch, commit, push, pull request."""

    branch_prefix: str = "rclaude/"
    author_name: str = "rclaude"
    author_email: str = "rclaude@users.noreply.github.com"
    auto_commit: bool = False
    push: bool = False
    pull_request: bool = False
    draft: bool = False
    #: GitHub REST API base (GitHub Enterprise: https://HOST/api/v3).
    api_url: str = "https://api.github.com"
    #: "owner/name" for pull requests when the remote URL is not a GitHub URL.
    github_repo: str | None = None


class Config(Section):
    """The whole effective configuration."""

    backend: Literal["local", "codespace", "aws", "fly"] = "local"
    data_dir: Path | None = None
    queue: Literal["sqlite", "sqs"] = "sqlite"
    storage: Literal["fs", "s3"] = "fs"
    log: Literal["sqlite", "redis"] = "sqlite"
    #: "sqlite" (the embedded file) or an SQLAlchemy URL such as postgresql://…
    database: str = "sqlite"
    tasks: TaskDefaults = Field(default_factory=TaskDefaults)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    orchestrator: OrchestratorSettings = Field(default_factory=OrchestratorSettings)
    aws: AwsSettings = Field(default_factory=AwsSettings)
    fly: FlySettings = Field(default_factory=FlySettings)
    codespace: CodespaceSettings = Field(default_factory=CodespaceSettings)
    sqs: SqsSettings = Field(default_factory=SqsSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    git: GitSettings = Field(default_factory=GitSettings)

    @field_validator("database")
    @classmethod
    def _database_url(cls, v: str) -> str:
        if v != "sqlite" and "://" not in v:
            raise ValueError("must be 'sqlite' or a database URL such as postgresql://host/db")
        return v

    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return Path(self.data_dir).expanduser()
        from platformdirs import user_data_dir

        return Path(user_data_dir("rclaude", appauthor=False))
