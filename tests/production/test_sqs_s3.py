"""SQS and S3 adapter behaviour beyond the shared contract, against the moto server."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from rclaude import awsutil
from rclaude.adapters.s3_store import MULTIPART_THRESHOLD, S3ObjectStore
from rclaude.adapters.sqs_queue import SqsQueue
from rclaude.config.schema import Config
from rclaude.errors import ConfigError, LeaseLostError
from rclaude.model import QueueMessage


def sqs_config(aws, **sqs) -> Config:
    return Config.model_validate(
        {"queue": "sqs", "tasks": {"max_attempts": 4}, "sqs": {"endpoint_url": aws, **sqs}}
    )


def test_queue_is_created_with_its_dead_letter_queue(aws):
    q = SqsQueue(sqs_config(aws, queue_name="jobs"))
    q.depth()  # first use creates the queues
    c = awsutil.client("sqs", region="us-east-1", endpoint_url=aws)
    attrs = c.get_queue_attributes(QueueUrl=q.url, AttributeNames=["RedrivePolicy"])
    policy = json.loads(attrs["Attributes"]["RedrivePolicy"])
    assert int(policy["maxReceiveCount"]) == 4
    assert policy["deadLetterTargetArn"].endswith(":jobs-dlq")
    again = SqsQueue(sqs_config(aws, queue_name="jobs"))  # found, not created twice
    assert again.url == q.url and again.dlq_url == q.dlq_url


def test_a_changed_max_attempts_updates_the_redrive_policy_of_its_own_queue(aws):
    def open_queue(max_attempts: int) -> tuple[SqsQueue, list[str]]:
        cfg = sqs_config(aws, queue_name="redrive")
        cfg.tasks.max_attempts = max_attempts
        q = SqsQueue(cfg)
        writes: list[str] = []
        q.client.meta.events.register(
            "before-call.sqs.SetQueueAttributes", lambda **kw: writes.append("set")
        )
        q.depth()
        return q, writes

    def max_receive(q: SqsQueue) -> int:
        attrs = q.client.get_queue_attributes(QueueUrl=q.url, AttributeNames=["RedrivePolicy"])
        return int(json.loads(attrs["Attributes"]["RedrivePolicy"])["maxReceiveCount"])

    q, _ = open_queue(3)
    assert max_receive(q) == 3
    q, writes = open_queue(5)
    assert max_receive(q) == 5 and writes == ["set"]
    assert q.dlq_url.endswith("/redrive-dlq")  # the dead-letter target is kept
    q, writes = open_queue(5)
    assert writes == []  # converged: reading only


def test_existing_queue_by_url_and_its_redrive_policy(aws):
    c = awsutil.client("sqs", region="us-east-1", endpoint_url=aws)
    dlq = c.create_queue(QueueName="mine-dead")["QueueUrl"]
    arn = c.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = c.create_queue(
        QueueName="mine",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "1"})
        },
    )["QueueUrl"]
    q = SqsQueue(sqs_config(aws, queue_url=url))
    m = QueueMessage(task_id="t", max_attempts=1)
    q.send(m)
    q.receive(1, visibility_timeout=0, wait_seconds=1)
    assert q.receive(1, visibility_timeout=30, wait_seconds=1) == []  # redriven by SQS
    assert [d.id for d in q.dead_letters()] == [m.id]
    assert [d.id for d in q.dead_letters()] == [m.id]  # peeking does not consume


def test_queue_without_dead_letter_queue_is_a_config_error(aws):
    c = awsutil.client("sqs", region="us-east-1", endpoint_url=aws)
    url = c.create_queue(QueueName="plain")["QueueUrl"]
    with pytest.raises(ConfigError) as err:
        SqsQueue(sqs_config(aws, queue_url=url)).dead_letters()
    assert err.value.code == "RC-QUEUE-010"


def test_batch_send_receive_and_ack(aws):
    q = SqsQueue(sqs_config(aws))
    msgs = [QueueMessage(task_id=f"t{i}") for i in range(23)]
    q.send_batch(msgs)
    leases = []
    while len(leases) < 23:
        got = q.receive(10, visibility_timeout=60, wait_seconds=1)
        assert got
        leases += got
    assert sorted(x.message.id for x in leases) == sorted(m.id for m in msgs)
    q.ack_batch(leases)
    assert q.depth() == 0


def test_stale_receipt_is_refused_although_sqs_would_accept_it(aws):
    q = SqsQueue(sqs_config(aws))
    q.send(QueueMessage(task_id="t"))
    (old,) = q.receive(1, visibility_timeout=1, wait_seconds=1)
    (new,) = q.receive(1, visibility_timeout=30, wait_seconds=5)
    assert new.receive_count == 2
    with pytest.raises(LeaseLostError):
        q.ack_batch([old])
    with pytest.raises(LeaseLostError):
        q.extend(old, 30)
    q.ack_batch([new])
    assert q.depth() == 0


def s3(aws, prefix="pre/") -> S3ObjectStore:
    awsutil.client("s3", region="us-east-1", endpoint_url=aws).create_bucket(Bucket="bkt-prod")
    return S3ObjectStore(
        Config.model_validate(
            {"storage": "s3", "s3": {"endpoint_url": aws, "bucket": "bkt-prod", "prefix": prefix}}
        )
    )


def test_large_files_go_multipart_under_the_prefix(aws, tmp_path):
    store = s3(aws)
    src = tmp_path / "big"
    src.write_bytes(os.urandom(MULTIPART_THRESHOLD + 1024 * 1024))
    store.put_file("blobs/big", str(src))
    head = awsutil.client("s3", region="us-east-1", endpoint_url=aws).head_object(
        Bucket="bkt-prod", Key="pre/blobs/big"
    )
    assert "-" in head["ETag"]  # a multipart upload's ETag is "<md5>-<parts>"
    store.put_many([(f"small/{i}", bytes([i]) * 10) for i in range(20)])
    assert len(list(store.list("small/"))) == 20


def test_presigned_get_and_put_work_and_expire_soon(aws):
    store = s3(aws)
    put_url = store.presign("up/file", "PUT", expires=60)
    req = urllib.request.Request(
        put_url,
        data=b"via presigned put",
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    urllib.request.urlopen(req, timeout=10).read()
    get_url = store.presign("up/file", expires=10**6)
    assert "Expires=" in get_url or "X-Amz-Expires=3600" in get_url
    assert urllib.request.urlopen(get_url, timeout=10).read() == b"via presigned put"
    with pytest.raises(Exception) as err:
        store.presign("up/file", "DELETE")
    assert getattr(err.value, "code", "") == "RC-STORE-011"


def test_missing_bucket_setting_fails_before_any_call():
    with pytest.raises(ConfigError) as err:
        S3ObjectStore(Config.model_validate({"storage": "s3"}))
    assert err.value.code == "RC-STORE-010"


@pytest.mark.parametrize(
    ("section", "settings", "code"),
    [
        ("sqs", {"queue_name": "bad name!"}, "RC-QUEUE-013"),
        ("s3", {"bucket": "Bad_Bucket"}, "RC-STORE-012"),
    ],
)
def test_invalid_names_fail_before_any_call(section, settings, code):
    cfg = Config.model_validate({section: {"endpoint_url": "http://127.0.0.1:1", **settings}})
    with pytest.raises(ConfigError) as err:
        SqsQueue(cfg) if section == "sqs" else S3ObjectStore(cfg)
    assert err.value.code == code
    assert err.value.where.key.startswith(section + ".")


def test_snapshot_to_s3_uploads_each_content_once_in_parallel(aws, tmp_path):
    from rclaude import snapshot

    store = s3(aws)
    assert store.transfer_concurrency > 1
    proj = tmp_path / "p"
    proj.mkdir()
    for i in range(40):
        (proj / f"f{i}.bin").write_bytes(os.urandom(1000 + i))
    (proj / "dup.bin").write_bytes((proj / "f0.bin").read_bytes())  # same content as f0
    seen = []
    manifest = snapshot.scan(proj)
    sent = snapshot.upload(store, proj, manifest, progress=seen.append)
    assert len(seen) == 40  # 41 files, 40 distinct contents
    assert sent == sum(1000 + i for i in range(40))
    assert snapshot.upload(store, proj, manifest) == 0  # nothing is sent twice
    sid = snapshot.create(store, proj)
    mat = snapshot.materialize(store, sid, tmp_path / "ws")
    for i in range(40):
        assert (mat.root / f"f{i}.bin").read_bytes() == (proj / f"f{i}.bin").read_bytes()


def test_wait_seconds_zero_short_polls_until_the_callers_wait_is_used(aws):
    import threading
    import time

    q = SqsQueue(sqs_config(aws, wait_seconds=0))
    start = time.monotonic()
    assert q.receive(1, wait_seconds=1.5) == []
    assert 1.0 <= time.monotonic() - start < 10  # it waited, it did not long-poll 20 s
    sender = threading.Timer(0.3, lambda: q.send(QueueMessage(task_id="late")))
    sender.start()
    got = q.receive(1, wait_seconds=5)
    sender.join(10)
    assert [lease.message.task_id for lease in got] == ["late"]


def test_a_lease_past_the_12_hour_sqs_limit_is_reported_as_such(aws, monkeypatch):
    """SQS refuses to keep a message leased for more than 12 h in all. The moto server
    (in this process) is moved 12 h ahead; the refusal must not read as an ordinary lost
    lease, so the worker can fail the task once instead of letting it run twice."""
    import moto.sqs.models as sqs_models

    q = SqsQueue(sqs_config(aws, queue_name="long", wait_seconds=0))
    q.send(QueueMessage(task_id="long-task", max_attempts=3))
    lease = q.receive(1, visibility_timeout=30, wait_seconds=2)[0]
    q.extend(lease, 30)  # an ordinary heartbeat
    real = sqs_models.unix_time_millis
    monkeypatch.setattr(
        sqs_models, "unix_time_millis", lambda *a: real(*a) + (12 * 3600 - 10) * 1000
    )
    with pytest.raises(LeaseLostError) as err:
        q.extend(lease, 30)
    assert err.value.code == "RC-QUEUE-017" and "12 h" in str(err.value)
    assert "--timeout" in err.value.hint
