"""The exported JSON Schema: editor-friendly, and it agrees with the loader."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from rclaude.config import backends, json_schema
from rclaude.config.schema import AWS_MODES, PROVIDERS
from tests.config.conftest import SEED_YAML


@pytest.fixture(scope="module")
def schema():
    return json_schema()


def _validator(schema):
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_valid_and_identified(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].startswith("urn:rclaude:") and "2020-12" in schema["$schema"]


def test_properties_are_by_alias_with_readable_titles_and_descriptions(schema):
    ec2 = schema["$defs"]["Ec2Settings"]["properties"]
    assert ec2["instanceType"]["title"] == "Instance type"
    assert ec2["instance_type"]["doNotSuggest"] is True
    assert "capacity errors" in ec2["fallbackInstanceTypes"]["description"]  # from schema.py
    mode = schema["$defs"]["AwsSettings"]["properties"]["mode"]
    assert mode["enum"] == list(AWS_MODES)
    assert "fargate = serverless containers" in mode["description"]


def test_seed_yaml_validates(schema):
    assert list(_validator(schema).iter_errors(yaml.safe_load(SEED_YAML))) == []


@pytest.mark.parametrize(
    "doc,ok",
    [
        ({"aws": {"ec2": {"instance_type": "t3.small"}}}, True),
        ({"backend": "ecs-ec2"}, True),
        ({"backend": "gcp"}, False),
        ({"aws": {"mode": "ecx"}}, False),
        ({"aws": {"ec2": {"instanceTyp": "x"}}}, False),
        ({"tasks": {"maxAttempts": 0}}, False),
    ],
)
def test_schema_agrees_with_the_loader_on_samples(schema, doc, ok):
    assert _validator(schema).is_valid(doc) is ok


def test_legacy_backends_are_marked_deprecated(schema):
    alternatives = schema["properties"]["backend"]["anyOf"]
    assert alternatives[0]["enum"] == list(PROVIDERS)
    assert alternatives[1]["deprecated"] is True and "ecs-ec2" in alternatives[1]["enum"]


def test_picker_describes_every_provider_and_mode():
    assert set(backends.PROVIDER_INFO) == set(PROVIDERS)
    assert set(backends.MODE_INFO) == set(AWS_MODES)
    assert set(backends.NEXT_STEP) == set(PROVIDERS)
