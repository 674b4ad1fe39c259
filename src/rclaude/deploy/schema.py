"""Strict schemas for ``.spot/config.yaml`` and ``.spot/deployment.yaml`` (version 1).

Every model forbids unknown keys. :func:`parse` turns pydantic's errors into
``ConfigError`` naming the file, the line and, for an unknown key, the closest valid
key. :func:`json_schemas` exports both schemas for editors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rclaude import yamlio
from rclaude.errors import ConfigError, Where, closest

#: Ubuntu 22.04 LTS amd64 AMI, published by Canonical as an SSM public parameter.
DEFAULT_IMAGE_PARAMETER = (
    "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id"
)
_CIDR = re.compile(r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
_MODE = re.compile(r"^0?[0-7]{3,4}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- .spot/config.yaml ---------------------------------------------------------------
class AwsSection(Strict):
    username: str = "ubuntu"
    public_ssh_key_path: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    spot_max_price: float | None = Field(None, gt=0)
    allowed_cidrs: list[str] = Field(default_factory=lambda: ["auto"])
    ssh_port: int = Field(22, ge=1, le=65535)
    #: Extra TCP ports opened to ``allowed_cidrs`` (e.g. 80, 443).
    open_ports: list[int] = Field(default_factory=list)
    #: SSM parameter that holds the AMI id for ``image: auto``.
    image_parameter: str = DEFAULT_IMAGE_PARAMETER
    #: S3 bucket for bundles and status objects (default: spot-deployer-<account>-<region>).
    bucket: str | None = None
    #: AWS API endpoint for every service (a moto server in tests); None = AWS itself.
    endpoint_url: str | None = None
    #: Fixed deployment id (letters, digits, '-'); default: <dir name>-<path hash>.
    deployment_name: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")
    root_volume_gb: int = Field(20, ge=8, le=16384)

    @field_validator("allowed_cidrs")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for c in v:
            if c != "auto" and not _CIDR.match(c):
                raise ValueError(f"{c!r} is not an IPv4 CIDR such as 203.0.113.7/32 (or 'auto')")
        return v


class RegionSection(Strict):
    name: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    instance_type: str | list[str] = "t3.micro"
    count: int = Field(1, ge=0, le=1000)
    image: str = "auto"

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if v != "auto" and not re.match(r"^ami-[0-9a-f]{8,17}$", v):
            raise ValueError("must be 'auto' or an AMI id such as ami-0123456789abcdef0")
        return v

    @property
    def instance_types(self) -> list[str]:
        return (
            [self.instance_type]
            if isinstance(self.instance_type, str)
            else list(self.instance_type)
        )


class SpotConfig(Strict):
    """``.spot/config.yaml``: where and how big the fleet is."""

    aws: AwsSection = Field(default_factory=AwsSection)
    regions: list[RegionSection] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_regions(self) -> SpotConfig:
        names = [r.name for r in self.regions]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"region listed twice: {', '.join(sorted(dup))}")
        return self


# -- .spot/deployment.yaml -----------------------------------------------------------
class Upload(Strict):
    source: str
    dest: str
    mode: str | None = None
    owner: str = "root:root"
    exclude: list[str] = Field(default_factory=list)
    #: Honour .gitignore/.rclaudeignore files under the source (git semantics, as snapshots).
    gitignore: bool = False

    @field_validator("mode")
    @classmethod
    def _mode(cls, v: str | None) -> str | None:
        if v is not None and not _MODE.match(v):
            raise ValueError("must be an octal string such as '0644'")
        return v


class Script(Strict):
    command: str
    working_dir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)


class HealthCheck(Strict):
    command: str
    retries: int = Field(10, ge=1, le=1000)
    interval_seconds: int = Field(3, ge=1, le=600)


class Service(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    file: str
    depends_on: list[str] = Field(default_factory=list)
    health_check: HealthCheck | None = None
    enabled: bool = True


class Tarball(Strict):
    url: str | None = None
    path: str | None = None
    checksum: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    extract_to: str

    @model_validator(mode="after")
    def _one_source(self) -> Tarball:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of 'url' or 'path'")
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise ValueError("url must be http(s)://")
        return self


class Hook(Strict):
    command: str
    where: Literal["local", "remote"] = "local"


class Hooks(Strict):
    pre: list[Hook | str] = Field(default_factory=list)
    post: list[Hook | str] = Field(default_factory=list)
    error: list[Hook | str] = Field(default_factory=list)
    cleanup: list[Hook | str] = Field(default_factory=list)

    def of(self, kind: str, where: str) -> list[str]:
        """Commands of hook ``kind`` that run ``where`` (plain strings are local)."""
        out = []
        for h in getattr(self, kind):
            hook = Hook(command=h) if isinstance(h, str) else h
            if hook.where == where:
                out.append(hook.command)
        return out


class DeploymentSpec(Strict):
    packages: list[str] = Field(default_factory=list)
    uploads: list[Upload] = Field(default_factory=list)
    scripts: list[Script | str] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    tarball: Tarball | None = None
    hooks: Hooks = Field(default_factory=Hooks)
    environment: dict[str, str] = Field(default_factory=dict)
    #: docker-compose file (project-relative) started with ``docker compose up -d``.
    compose_file: str | None = None

    @field_validator("environment")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for k in v:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
                raise ValueError(f"{k!r} is not a valid environment variable name")
        return v

    def script_list(self) -> list[Script]:
        return [Script(command=s) if isinstance(s, str) else s for s in self.scripts]


class Manifest(Strict):
    """``.spot/deployment.yaml``: what goes on each instance."""

    version: Literal[1]
    deployment: DeploymentSpec = Field(default_factory=DeploymentSpec)


# -- parsing -------------------------------------------------------------------------
M = TypeVar("M", bound=BaseModel)


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Valid keys of the model reached by following ``loc`` (for "did you mean")."""
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            if isinstance(part, int):
                continue
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        candidates = [ann, *typing.get_args(ann)]
        nxt = None
        for c in candidates:
            for cc in [c, *typing.get_args(c)]:
                if isinstance(cc, type) and issubclass(cc, BaseModel):
                    nxt = cc
        current = nxt
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def parse(model: type[M], data: Any, lines: yamlio.LineMap, file: str) -> M:
    """Validate ``data`` against ``model``; raise ``ConfigError`` with file, line, key."""
    from pydantic import ValidationError as PydanticError

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file} must be a mapping at the top level",
            code="RC-DEPLOY-002",
            where=Where(file=file, line=1),
        )
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        errors = exc.errors()
        # An unknown key explains a union mismatch better than "missing field".
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        # Drop pydantic's union-branch labels ("Hook", "str") from the location.
        loc = tuple(
            p
            for p in err["loc"]
            if isinstance(p, int) or not p[:1].isupper() and p not in ("str", "list[str]", "int")
        )
        key = ".".join(str(p) for p in loc)
        where = lines.where(loc) if loc else Where(file=file, line=1)
        if err["type"] == "extra_forbidden":
            name = str(loc[-1])
            valid = _fields_at(model, loc[:-1])
            guess = closest(name, valid) if valid else None
            hint = (
                f"did you mean '{guess}'?"
                if guess
                else (f"valid keys here: {', '.join(valid)}" if valid else None)
            )
            raise ConfigError(
                f"unknown key '{name}' in {file}", code="RC-DEPLOY-003", hint=hint, where=where
            ) from None
        if err["type"] == "missing":
            raise ConfigError(
                f"missing required key '{key}' in {file}",
                code="RC-DEPLOY-004",
                where=where,
                hint=f"add '{loc[-1]}:' to {file}",
            ) from None
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(
            f"invalid value for '{key or 'document'}' in {file}: {msg}",
            code="RC-DEPLOY-005",
            where=where,
        ) from None


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, yamlio.LineMap]:
    """Parse a YAML file with :mod:`rclaude.yamlio`, naming it ``display`` in errors."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"file not found: {name}", code="RC-YAML-006", where=Where(file=name)
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{name} is not UTF-8 text: {exc.reason}", code="RC-YAML-007", where=Where(file=name)
        ) from None
    return yamlio.loads(text, file=name, error_cls=ConfigError)


def load_model(model: type[M], path: Path, *, display: str | None = None) -> M:
    """Load a YAML file and validate it against ``model`` (errors name ``display``)."""
    data, lines = load_yaml(path, display)
    return parse(model, data, lines, display or str(path))


def json_schemas() -> dict[str, dict]:
    """JSON Schema documents for editors, keyed by the file they describe."""
    return {
        ".spot/config.yaml": SpotConfig.model_json_schema(),
        ".spot/deployment.yaml": Manifest.model_json_schema(),
    }


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))
