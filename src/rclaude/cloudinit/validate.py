"""Validation of rendered cloud-config by cloud-init's own schema validator.

``validate_schema`` runs ``cloud-init schema --config-file`` (Debian package
``cloud-init``; it needs no root and no running services). When the tool is not
installed it raises :class:`SchemaValidatorUnavailable` so callers (tests, ``validate``)
can say so plainly instead of passing silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from rclaude.errors import ValidationError


class SchemaValidatorUnavailable(RuntimeError):
    """The ``cloud-init`` command is not installed on this machine."""


def validator_available() -> bool:
    """True when ``cloud-init schema`` can be run here."""
    return shutil.which("cloud-init") is not None


def validate_schema(text: str) -> None:
    """Check ``text`` (a ``#cloud-config`` document) with cloud-init's schema.

    Raises ``ValidationError`` (code ``RC-CINIT-010``) with cloud-init's message when the
    document is invalid, ``SchemaValidatorUnavailable`` when cloud-init is missing.
    """
    exe = shutil.which("cloud-init")
    if exe is None:
        raise SchemaValidatorUnavailable("cloud-init is not installed (apt-get install cloud-init)")
    fd, path = tempfile.mkstemp(prefix="rclaude-cloud-config-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        proc = subprocess.run(
            [exe, "schema", "--config-file", path],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip()).replace(path, "<user-data>")
        raise ValidationError(
            f"cloud-init schema validation failed: {detail}",
            code="RC-CINIT-010",
            hint="fix the cloud-init override or report a bug if rclaude generated it",
        )
