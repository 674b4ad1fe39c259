"""The ``CloudConfig`` builder: cloud-config as Python data, serialized with ``safe_dump``.

A base document (the *template*) has fixed injection points — packages, files,
commands and ordered *boot phases* — that callers fill through small methods. Nothing is
ever built by concatenating YAML text: :meth:`CloudConfig.render` serializes one dict.

Boot phases are shell snippets run once, in order, by a small runner script written to
the instance. Each phase leaves a completion marker (``<state_dir>/<NN-name>.done``) so
a reboot resumes after the last finished phase, and a failing phase leaves
``<NN-name>.failed`` and stops the run. An optional status hook is called as
``<hook> <phase> <running|done|failed>`` so the caller can report progress elsewhere.
"""

from __future__ import annotations

import base64
import copy
import gzip
import re
import shlex
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from rclaude.errors import ValidationError

#: AWS rejects EC2 user-data larger than this many bytes (before base64).
USER_DATA_LIMIT = 16 * 1024
HEADER = "#cloud-config\n"
_PHASE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MODE = re.compile(r"^0?[0-7]{3,4}$")


@dataclass(frozen=True)
class BootLayout:
    """Where the phase runner, its phases, markers and logs live on the instance."""

    runner: str = "/usr/local/sbin/rclaude-boot"
    phases_dir: str = "/opt/rclaude/boot/phases"
    state_dir: str = "/var/lib/rclaude/boot"
    log_dir: str = "/var/log/rclaude/boot"


@dataclass
class _Phase:
    name: str
    commands: list[str]
    env: dict[str, str] = field(default_factory=dict)


class CloudConfig:
    """Build a cloud-config document step by step, then :meth:`render` it.

    The builder only accumulates data; ``render()`` can be called any number of times
    and always yields the same text for the same calls (deterministic order).
    """

    def __init__(
        self,
        *,
        layout: BootLayout | None = None,
        status_hook: str | None = None,
        package_update: bool = True,
    ) -> None:
        self.layout = layout or BootLayout()
        self.status_hook = status_hook
        self._packages: list[str] = []
        self._files: list[dict[str, Any]] = []
        self._runcmd: list[Any] = []
        self._phases: list[_Phase] = []
        self._on_failure: list[str] = []
        self._extra: dict[str, Any] = {}
        self._package_update = package_update

    # -- injection points -------------------------------------------------------------
    def add_packages(self, *names: str) -> CloudConfig:
        """Install these distribution packages (deduplicated, order kept)."""
        for name in names:
            if not name or not re.match(r"^[A-Za-z0-9][A-Za-z0-9.+:=~_-]*$", name):
                raise ValidationError(
                    f"invalid package name {name!r}",
                    code="RC-CINIT-001",
                    hint="use plain distribution package names such as 'nginx'",
                )
            if name not in self._packages:
                self._packages.append(name)
        return self

    def add_write_file(
        self,
        path: str,
        content: str | bytes,
        mode: str = "0644",
        owner: str = "root:root",
        *,
        compress: bool = False,
        defer: bool = False,
    ) -> CloudConfig:
        """Write ``content`` to absolute ``path`` on the instance with ``mode``/``owner``.

        Binary content (or ``compress=True``) is stored gzip+base64 so it survives YAML and
        takes less of the 16 KB budget. ``defer=True`` writes after users are created
        (needed when ``owner`` is a user the config itself creates).
        """
        if not path.startswith("/") or "/../" in path + "/" or "\x00" in path:
            raise ValidationError(
                f"write_files path {path!r} must be absolute without '..'",
                code="RC-CINIT-002",
            )
        if not _MODE.match(mode):
            raise ValidationError(
                f"invalid file mode {mode!r} for {path}",
                code="RC-CINIT-003",
                hint="use an octal string such as '0644'",
            )
        entry: dict[str, Any] = {"path": path}
        if isinstance(content, bytes) or compress:
            raw = content if isinstance(content, bytes) else content.encode()
            entry["encoding"] = "gz+b64"
            entry["content"] = base64.b64encode(gzip.compress(raw, mtime=0)).decode()
        else:
            entry["content"] = content
        entry["owner"] = owner
        entry["permissions"] = mode if mode.startswith("0") else "0" + mode
        if defer:
            entry["defer"] = True
        self._files = [f for f in self._files if f["path"] != path] + [entry]
        return self

    def add_runcmd(self, command: str | list[str]) -> CloudConfig:
        """Run a command at the end of boot (a string goes through ``sh -c``)."""
        self._runcmd.append(list(command) if isinstance(command, list) else command)
        return self

    def add_boot_phase(
        self, name: str, commands: list[str], *, env: dict[str, str] | None = None
    ) -> CloudConfig:
        """Append an ordered boot phase: ``commands`` run under ``bash -euo pipefail``.

        Phases run after packages are installed, in the order they were added, each at
        most once (see the module docstring for markers and status).
        """
        if not _PHASE_NAME.match(name):
            raise ValidationError(
                f"invalid boot phase name {name!r}",
                code="RC-CINIT-004",
                hint="lowercase letters, digits and '-', at most 63 characters",
            )
        if any(p.name == name for p in self._phases):
            raise ValidationError(f"duplicate boot phase {name!r}", code="RC-CINIT-005")
        self._phases.append(_Phase(name, list(commands), dict(env or {})))
        return self

    def on_failure(self, commands: list[str]) -> CloudConfig:
        """Commands run (once) when a phase fails; the phase name is ``$1``."""
        self._on_failure.extend(commands)
        return self

    def merge(self, overrides: dict[str, Any]) -> CloudConfig:
        """Merge user overrides (e.g. ``.spot/cloud-init.yaml``) into the document.

        Lists are appended, mappings merged recursively, scalars replaced.
        """
        if not isinstance(overrides, dict):
            raise ValidationError("cloud-init overrides must be a mapping", code="RC-CINIT-006")
        self._extra = deep_merge(self._extra, overrides)
        return self

    @property
    def phase_names(self) -> list[str]:
        """Marker names of the phases, in run order (``01-fetch-bundle`` …)."""
        return [f"{i:02d}-{p.name}" for i, p in enumerate(self._phases, start=1)]

    # -- output -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The cloud-config document as plain data (the base template filled in)."""
        doc: dict[str, Any] = {}
        if self._packages:
            doc["package_update"] = self._package_update
            doc["packages"] = list(self._packages)
        files = list(self._files)
        runcmd = list(self._runcmd)
        if self._phases:
            files.extend(self._phase_files())
            runcmd.append([self.layout.runner])
        if files:
            doc["write_files"] = files
        if runcmd:
            doc["runcmd"] = runcmd
        return deep_merge(doc, self._extra)

    def render(self) -> str:
        """The document as text starting with ``#cloud-config``."""
        import yaml

        body = yaml.dump(
            self.to_dict(),
            Dumper=_dumper(),
            sort_keys=False,
            default_flow_style=False,
            width=1_000_000,
            allow_unicode=False,
        )
        return HEADER + body

    def render_user_data(self, limit: int = USER_DATA_LIMIT) -> bytes:
        """User-data bytes for EC2: plain text, or gzip when the text exceeds ``limit``.

        cloud-init detects gzip by its magic bytes. Raises ``ValidationError`` if even the
        compressed document is too large (move files into a bundle instead).
        """
        text = self.render().encode()
        if len(text) <= limit:
            return text
        packed = gzip.compress(text, compresslevel=9, mtime=0)
        if len(packed) > limit:
            raise ValidationError(
                f"user-data is {len(packed)} bytes gzipped, over the {limit}-byte EC2 limit",
                code="RC-CINIT-007",
                hint="ship large files in the deployment bundle instead of inline",
            )
        return packed

    # -- internals --------------------------------------------------------------------
    def _phase_files(self) -> list[dict[str, Any]]:
        lay = self.layout
        runner = (
            resources.files("rclaude.cloudinit")
            .joinpath("runner.sh")
            .read_text()
            .replace("@PHASES_DIR@", lay.phases_dir)
            .replace("@STATE_DIR@", lay.state_dir)
            .replace("@LOG_DIR@", lay.log_dir)
            .replace("@STATUS_HOOK@", self.status_hook or "")
        )
        out = [{"path": lay.runner, "content": runner, "owner": "root:root", "permissions": "0755"}]
        for marker, phase in zip(self.phase_names, self._phases, strict=True):
            lines = ["#!/bin/bash", "set -euo pipefail"]
            lines += [f"export {k}={shlex.quote(v)}" for k, v in sorted(phase.env.items())]
            lines += phase.commands
            out.append(
                {
                    "path": f"{lay.phases_dir}/{marker}.sh",
                    "content": "\n".join(lines) + "\n",
                    "owner": "root:root",
                    "permissions": "0700",
                }
            )
        if self._on_failure:
            out.append(
                {
                    "path": f"{lay.phases_dir}/on-failure.sh",
                    "content": "#!/bin/bash\n" + "\n".join(self._on_failure) + "\n",
                    "owner": "root:root",
                    "permissions": "0700",
                }
            )
        return out


def _dumper():
    """``yaml.SafeDumper`` that writes multi-line strings as ``|`` blocks (readable diffs)."""
    import yaml

    class _BlockDumper(yaml.SafeDumper):
        pass

    def _str(dumper, value: str):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _BlockDumper.add_representer(str, _str)
    return _BlockDumper


def deep_merge(base: Any, extra: Any) -> Any:
    """Merge ``extra`` into a copy of ``base``: lists append, dicts recurse, scalars win."""
    if isinstance(base, dict) and isinstance(extra, dict):
        out = copy.deepcopy(base)
        for k, v in extra.items():
            out[k] = deep_merge(out[k], v) if k in out else copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(extra, list):
        return copy.deepcopy(base) + copy.deepcopy(extra)
    return copy.deepcopy(extra)
