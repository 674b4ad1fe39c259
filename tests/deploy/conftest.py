"""Fixtures for the deployer tests: small projects on disk and a cloud-init validator."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "deploy"
CONFIG = """\
aws:
  deployment_name: {name}
  allowed_cidrs: [198.51.100.7/32]
regions:
{regions}
"""


def write(root: Path, rel: str, text: str, mode: int = 0o644) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(text))
    p.chmod(mode)
    return p


@pytest.fixture
def make_project(tmp_path):
    """Factory: a convention project (setup.sh) with the given config extras."""

    def make(
        name: str = "t1",
        regions: str = "  - {name: us-west-2, count: 1}",
        aws_extra: str = "",
        manifest: str | None = None,
    ) -> Path:
        root = tmp_path / name
        cfg = CONFIG.format(name=name, regions=regions)
        if aws_extra:
            cfg = cfg.replace("aws:\n", "aws:\n" + textwrap.indent(aws_extra.strip(), "  ") + "\n")
        write(root, ".spot/config.yaml", cfg)
        write(root, "deployment/setup.sh", "#!/bin/bash\necho hi\n", 0o755)
        if manifest is not None:
            write(root, ".spot/deployment.yaml", manifest)
        return root

    return make


@pytest.fixture
def golden_copy(tmp_path):
    """Factory: a private copy of a golden project (tests may then break it)."""

    def copy(case: str) -> Path:
        dest = tmp_path / case
        shutil.copytree(GOLDEN / case / "project", dest, symlinks=True)
        return dest

    return copy


@pytest.fixture
def cloud_init_schema():
    """cloud-init's own validator, or a skip saying why it is unavailable."""
    from rclaude.cloudinit import validate_schema, validator_available

    if not validator_available():
        pytest.skip(
            "cloud-init is not installed (apt-get install cloud-init): "
            "cannot run its schema validator"
        )
    return validate_schema
