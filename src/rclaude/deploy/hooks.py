"""Local hooks: ``pre``/``post``/``error``/``cleanup`` commands run on this machine.

They run from the project root with ``bash -c``, in manifest order; a failing ``pre``
hook stops the operation before any AWS call. Remote hooks (``where: remote``) are
boot phases instead (see :mod:`rclaude.deploy.boot`).
"""

from __future__ import annotations

import logging
import subprocess

from rclaude.deploy.discovery import Project
from rclaude.errors import ValidationError

log = logging.getLogger("rclaude.deploy")


def run_local(project: Project, kind: str) -> None:
    """Run the project's local hooks of ``kind``; raise on the first failure."""
    for command in project.spec.hooks.of(kind, "local"):
        log.info("hook %s: %s", kind, command)
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=project.root,
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise ValidationError(
                f"{kind} hook failed (exit {proc.returncode}): {command}",
                code="RC-DEPLOY-085",
                hint=" | ".join(tail) or "run the command by hand to see why",
            )
