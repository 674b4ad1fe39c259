"""The shared cloud-init renderer: data in, ``#cloud-config`` out, size and schema checks."""

from __future__ import annotations

import base64
import gzip
import os

import pytest
import yaml

from rclaude.cloudinit import (
    USER_DATA_LIMIT,
    CloudConfig,
    SchemaValidatorUnavailable,
    deep_merge,
    validate_schema,
)
from rclaude.errors import ValidationError


def _worker_config() -> CloudConfig:
    """Roughly what the aws compute backend does to boot an ``rclaude worker``."""
    cfg = CloudConfig(status_hook="/usr/local/bin/report")
    cfg.add_packages("python3-venv", "git")
    cfg.add_write_file("/etc/rclaude/worker.env", "RCLAUDE_QUEUE=sqs\n", mode="0600")
    cfg.add_boot_phase("install", ["python3 -m venv /opt/rclaude", "/opt/rclaude/bin/pip -V"])
    cfg.add_boot_phase(
        "start", ["/opt/rclaude/bin/rclaude worker --burst"], env={"RCLAUDE_LOG": "info"}
    )
    return cfg


def test_render_is_cloud_config_built_from_data():
    cfg = _worker_config()
    text = cfg.render()
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    assert doc == cfg.to_dict()
    assert doc["packages"] == ["python3-venv", "git"]
    env = next(f for f in doc["write_files"] if f["path"] == "/etc/rclaude/worker.env")
    assert env == {
        "path": "/etc/rclaude/worker.env",
        "content": "RCLAUDE_QUEUE=sqs\n",
        "owner": "root:root",
        "permissions": "0600",
    }
    assert doc["runcmd"] == [["/usr/local/sbin/rclaude-boot"]]
    assert cfg.phase_names == ["01-install", "02-start"]
    phase = next(f for f in doc["write_files"] if f["path"].endswith("02-start.sh"))
    assert "export RCLAUDE_LOG=info\n" in phase["content"]
    assert cfg.render() == text  # deterministic


def test_hostile_strings_cannot_inject_yaml():
    cfg = CloudConfig()
    evil = "x\nruncmd: [rm -rf /]\n'\"{}: &a *a"
    cfg.add_write_file("/etc/evil", evil)
    cfg.add_runcmd(evil)
    doc = yaml.safe_load(cfg.render())
    assert doc["write_files"][0]["content"] == evil
    assert doc["runcmd"] == [evil]


def test_binary_and_compressed_files_are_gzip_base64():
    cfg = CloudConfig()
    cfg.add_write_file("/opt/blob", b"\x00\xff" * 10)
    entry = cfg.to_dict()["write_files"][0]
    assert entry["encoding"] == "gz+b64"
    assert gzip.decompress(base64.b64decode(entry["content"])) == b"\x00\xff" * 10


def test_merge_overrides_appends_lists_and_merges_maps():
    cfg = CloudConfig().add_packages("nginx")
    cfg.merge({"packages": ["jq"], "timezone": "UTC", "apt": {"preserve_sources_list": True}})
    doc = cfg.to_dict()
    assert doc["packages"] == ["nginx", "jq"] and doc["timezone"] == "UTC"
    assert deep_merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2], "d": 3}}) == {
        "a": {"b": 1, "c": [1, 2], "d": 3}
    }


def test_user_data_is_gzipped_only_when_needed_and_capped():
    small = CloudConfig().add_packages("nginx")
    assert small.render_user_data() == small.render().encode()
    big = CloudConfig()
    big.add_write_file("/opt/readme", "hello world\n" * 3000)  # ~36 KB, compresses well
    data = big.render_user_data()
    assert data[:2] == b"\x1f\x8b" and len(data) <= USER_DATA_LIMIT
    assert gzip.decompress(data).decode() == big.render()
    huge = CloudConfig()
    huge.add_write_file("/opt/noise", base64.b64encode(os.urandom(30000)).decode())
    with pytest.raises(ValidationError) as err:
        huge.render_user_data()
    assert err.value.code == "RC-CINIT-007"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.add_packages("nginx; rm -rf /"), "RC-CINIT-001"),
        (lambda c: c.add_write_file("relative/path", "x"), "RC-CINIT-002"),
        (lambda c: c.add_write_file("/etc/../x", "x"), "RC-CINIT-002"),
        (lambda c: c.add_write_file("/etc/x", "x", mode="777x"), "RC-CINIT-003"),
        (lambda c: c.add_boot_phase("Bad Name", []), "RC-CINIT-004"),
        (lambda c: c.add_boot_phase("a", []).add_boot_phase("a", []), "RC-CINIT-005"),
    ],
)
def test_builder_rejects_bad_arguments(call, code):
    with pytest.raises(ValidationError) as err:
        call(CloudConfig())
    assert err.value.code == code


def test_rendered_config_passes_cloud_init_schema(cloud_init_schema):
    cloud_init_schema(_worker_config().render())


def test_schema_validator_rejects_invalid_documents(cloud_init_schema):
    cfg = CloudConfig()
    cfg.merge({"write_files": [{"path": "/x", "contnet": "typo"}]})
    with pytest.raises(ValidationError) as err:
        cloud_init_schema(cfg.render())
    assert err.value.code == "RC-CINIT-010" and "contnet" in err.value.message


def test_missing_validator_is_reported_not_passed(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SchemaValidatorUnavailable):
        validate_schema("#cloud-config\n{}\n")
