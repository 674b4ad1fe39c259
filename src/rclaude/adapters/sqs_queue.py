"""``Queue`` on Amazon SQS (see ``rclaude.ports.Queue``), with a dead-letter queue.

- ``receive`` long-polls (``WaitTimeSeconds`` up to 20 s per call, repeated until the
  caller's ``wait_seconds`` is used up) and leases up to 10 messages per call.
- ``extend`` is ``ChangeMessageVisibility``; the worker's heartbeat calls it.
- Dead letters: the queue is created (when missing) with a redrive policy whose
  ``maxReceiveCount`` is ``tasks.max_attempts``, pointing at ``<name>-dlq``. A message
  whose own ``max_attempts`` is lower is moved to the DLQ by this adapter when it is
  delivered once too often (SendMessage to the DLQ, then DeleteMessage), so the per-task
  limit holds as well as the queue-wide one.
- ``depth`` = ``ApproximateNumberOfMessages`` + ``ApproximateNumberOfMessagesNotVisible``.
- ``receive_dead_letters`` receives from the DLQ with a real visibility timeout (a lease:
  one reaper at a time); ``ack_dead_letter`` deletes from the DLQ, so it drains. A stale
  DLQ receipt is not checked: the reaper acks only once the task's final state is
  recorded, so deleting a dead letter another reaper also holds loses nothing.
- ``dead_letters`` peeks at the DLQ with ``VisibilityTimeout=0``: nothing is consumed,
  and SQS returns a sample (a repeated peek returns the same few messages).

Undecodable messages (a non-JSON body, missing fields, a newer schema version during a
rolling upgrade) never fail a receive. A task message is moved to the DLQ (logged once,
``RC-QUEUE-014``) rather than deleted: its body stays where operators look for messages
that could not be processed, and a newer reaper can still record its task as failed
instead of leaving it queued forever. In the DLQ a malformed message is deleted
(``RC-QUEUE-015``: nothing can ever decode it); one of a newer schema version is left,
leased, for a reaper that understands it (``RC-QUEUE-016``, logged once per process).

Stale receipts: SQS (and moto) accept a DeleteMessage with an *older* receipt handle
of a message that has since been received again ("the request succeeds, but the
message might not be deleted"). So that ``ack``/``extend`` on a lost lease raise
``LeaseLostError`` as the contract says, this adapter remembers the newest receipt of
every message it has received and refuses older ones. That check is per process; across
processes a stale ack is harmless (SQS ignores it or deletes a message whose task is
already terminal).

Duplicates: a standard SQS queue may deliver a message twice even within its visibility
timeout (moto does it under concurrent receives). A second delivery of a message this
process still holds a live lease on is dropped; a duplicate reaching another process
runs the task again, which is the at-least-once delivery rclaude documents.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections import OrderedDict

from rclaude import awsutil
from rclaude.adapters import poison
from rclaude.errors import BackendError, ConfigError, LeaseLostError, ValidationError, Where
from rclaude.model import Lease, QueueMessage

log = logging.getLogger("rclaude.queue")

#: SQS limits: 10 messages per batch call, 20 s per long poll, 12 h visibility.
MAX_BATCH = 10
MAX_WAIT = 20
MAX_VISIBILITY = 12 * 3600
#: How many message ids' newest receipts are remembered for the stale-receipt check.
RECEIPT_MEMORY = 10_000
#: Error codes meaning "this receipt no longer holds the message".
_LOST_CODES = frozenset(
    {
        "ReceiptHandleIsInvalid",
        "InvalidParameterValue",
        "MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
        "InvalidReceiptHandle",
    }
)


def _seconds(value: float, upper: int) -> int:
    return max(0, min(upper, int(math.ceil(value))))


_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


def _check_names(settings) -> None:
    """SQS queue names: 1-80 letters, digits, '-' or '_' (checked before any call)."""
    for key, name in (
        ("sqs.queueName", settings.queue_name),
        ("sqs.deadLetterQueueName", settings.dead_letter_queue_name),
    ):
        if name is not None and not _QUEUE_NAME.fullmatch(name):
            raise ConfigError(
                f"invalid SQS queue name {name!r}",
                code="RC-QUEUE-013",
                where=Where(key=key),
                hint="use 1-80 letters, digits, '-' or '_' (FIFO queues are not supported)",
            )


class SqsQueue:
    def __init__(self, config) -> None:
        _check_names(config.sqs)
        self.settings = config.sqs
        self.max_attempts = config.tasks.max_attempts
        self.region = self.settings.region or config.aws.region
        self.endpoint_url = self.settings.endpoint_url or config.aws.endpoint_url
        self.profile = config.aws.profile
        self._client = None
        self._url: str | None = self.settings.queue_url
        self._dlq_url: str | None = None
        self._lock = threading.Lock()
        # message id -> (newest receipt, lease deadline) of what this process received
        self._receipts: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._newer = poison.NewerDeadLetters()

    # -- plumbing ---------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            self._client = awsutil.client(
                "sqs", region=self.region, endpoint_url=self.endpoint_url, profile=self.profile
            )
        return self._client

    @property
    def url(self) -> str:
        if self._url is None:
            with self._lock:
                if self._url is None:
                    self._url = self._ensure_queues()
        return self._url

    @property
    def dlq_url(self) -> str:
        if self._dlq_url is None:
            with awsutil.translate_aws_errors("find the SQS dead-letter queue"):
                attrs = self.client.get_queue_attributes(
                    QueueUrl=self.url, AttributeNames=["RedrivePolicy"]
                ).get("Attributes", {})
                policy = attrs.get("RedrivePolicy")
                if not policy:
                    raise ConfigError(
                        f"SQS queue {self.url} has no redrive policy (no dead-letter queue)",
                        code="RC-QUEUE-010",
                        hint="give the queue a RedrivePolicy, or let rclaude create it "
                        "(set sqs.queueName and leave sqs.queueUrl empty)",
                    )
                arn = json.loads(policy)["deadLetterTargetArn"]
                account, name = arn.split(":")[4], arn.split(":")[5]
                self._dlq_url = self.client.get_queue_url(
                    QueueName=name, QueueOwnerAWSAccountId=account
                )["QueueUrl"]
        return self._dlq_url

    def _ensure_queues(self) -> str:
        """The main queue's URL; creates it and its DLQ when they do not exist."""
        name = self.settings.queue_name
        dlq_name = self.settings.dead_letter_queue_name or f"{name}-dlq"
        c = self.client
        with awsutil.translate_aws_errors(f"open the SQS queue '{name}'"):
            try:
                url = c.get_queue_url(QueueName=name)["QueueUrl"]
            except c.exceptions.QueueDoesNotExist:
                pass
            else:
                self._converge_redrive(url)
                return url
            dlq_url = c.create_queue(
                QueueName=dlq_name, Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600)}
            )["QueueUrl"]
            dlq_arn = c.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(self.max_attempts)}
            url = c.create_queue(
                QueueName=name,
                Attributes={
                    "RedrivePolicy": json.dumps(policy),
                    "MessageRetentionPeriod": str(14 * 24 * 3600),
                },
            )["QueueUrl"]
        self._dlq_url = dlq_url
        return url

    def _converge_redrive(self, url: str) -> None:
        """A queue rclaude created keeps ``maxReceiveCount`` = ``tasks.maxAttempts``: when
        the setting changed since, the redrive policy is updated (one read per open; a
        write only when they differ)."""
        c = self.client
        attrs = c.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        raw = attrs.get("Attributes", {}).get("RedrivePolicy")
        if not raw:
            return  # dlq_url says what is wrong when a dead letter is needed
        policy = json.loads(raw)
        if int(policy.get("maxReceiveCount", 0)) == self.max_attempts:
            return
        was = policy.get("maxReceiveCount")
        policy["maxReceiveCount"] = str(self.max_attempts)
        try:
            c.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})
        except c.exceptions.ClientError as exc:  # e.g. a role without the permission
            log.warning(
                "SQS queue %s keeps maxReceiveCount %s (tasks.maxAttempts is %s): %s",
                url,
                was,
                self.max_attempts,
                exc,
            )
            return
        log.info(
            "SQS queue %s: maxReceiveCount %s -> %s (tasks.maxAttempts)",
            url,
            was,
            self.max_attempts,
        )

    def _remember(self, message_id: str, receipt: str, deadline: float) -> bool:
        """Record a delivery; False when this process still holds an unexpired lease on
        the message (a duplicate delivery: SQS standard queues, and moto under
        concurrent receives, may hand out a message twice)."""
        with self._lock:
            held = self._receipts.get(message_id)
            if held is not None and held[0] != receipt and held[1] > time.time():
                return False
            self._receipts[message_id] = (receipt, deadline)
            self._receipts.move_to_end(message_id)
            while len(self._receipts) > RECEIPT_MEMORY:
                self._receipts.popitem(last=False)
        return True

    def _check_current(self, lease: Lease) -> None:
        with self._lock:
            held = self._receipts.get(lease.message.id)
        if held is not None and held[0] != lease.receipt:
            raise LeaseLostError(
                f"lease on message {lease.message.id} is no longer held "
                f"(it was delivered again: attempt {lease.receive_count} lost it)",
                code="RC-QUEUE-011",
            )

    def _lost(self, lease: Lease, exc: BackendError) -> LeaseLostError:
        return LeaseLostError(
            f"lease on message {lease.message.id} is no longer held: {exc.message}",
            code="RC-QUEUE-011",
        )

    # -- the port -----------------------------------------------------------------
    def send(self, message: QueueMessage) -> None:
        with awsutil.translate_aws_errors("send a task to SQS"):
            self.client.send_message(QueueUrl=self.url, MessageBody=message.encode())

    def send_batch(self, messages: list[QueueMessage]) -> None:
        """Send many messages with SendMessageBatch (10 per call); raises if any fails."""
        for start in range(0, len(messages), MAX_BATCH):
            part = messages[start : start + MAX_BATCH]
            with awsutil.translate_aws_errors("send tasks to SQS"):
                resp = self.client.send_message_batch(
                    QueueUrl=self.url,
                    Entries=[{"Id": str(i), "MessageBody": m.encode()} for i, m in enumerate(part)],
                )
            if resp.get("Failed"):
                first = resp["Failed"][0]
                raise BackendError(
                    f"SQS refused {len(resp['Failed'])} message(s): {first.get('Code')}: "
                    f"{first.get('Message')}",
                    code="RC-QUEUE-012",
                )

    def receive(
        self, max_messages: int = 1, *, visibility_timeout: float = 30.0, wait_seconds: float = 0.0
    ) -> list[Lease]:
        deadline = time.monotonic() + wait_seconds
        vt = _seconds(visibility_timeout, MAX_VISIBILITY)
        set_aside_only = 0  # batches that held messages, none of them leased
        while True:
            left = deadline - time.monotonic()
            # sqs.waitSeconds caps each long poll; 0 turns long polling off (short polls,
            # a second apart, until the caller's wait is used up).
            wait = _seconds(left, min(MAX_WAIT, self.settings.wait_seconds))
            with awsutil.translate_aws_errors("receive tasks from SQS"):
                resp = self.client.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=max(1, min(MAX_BATCH, max_messages)),
                    VisibilityTimeout=vt,
                    WaitTimeSeconds=wait if left > 0 else 0,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                )
            raw = resp.get("Messages", [])
            leases = self._leases(raw, vt)
            if leases:
                return leases
            if raw and set_aside_only < MAX_BATCH:
                # All dead-lettered, undecodable or duplicates: that is not an empty queue
                # (a burst worker would stop), so look again at once.
                set_aside_only += 1
                continue
            if time.monotonic() >= deadline:
                return leases
            if wait == 0:
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def _leases(self, raw: list[dict], vt: int) -> list[Lease]:
        out: list[Lease] = []
        now = time.time()
        for m in raw:
            try:
                message = QueueMessage.decode(m["Body"])
            except ValidationError as exc:
                self._set_aside(m, exc)
                continue
            count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            if count > message.max_attempts:
                self._dead_letter(m)
                continue
            if self._remember(message.id, m["ReceiptHandle"], now + vt):
                out.append(Lease(message, m["ReceiptHandle"], count, now + vt))
        return out

    def _set_aside(self, raw: dict, exc: ValidationError) -> None:
        """Move an undecodable task message to the DLQ, and say so once."""
        moved = self._dead_letter(raw)
        poison.set_aside(
            f"SQS message {raw.get('MessageId')} on {self.url}",
            exc,
            raw["Body"],
            f"moved it to the dead-letter queue {self._dlq_url}"
            if moved
            else "it could not be moved to the dead-letter queue and will be delivered again",
            "only rclaude should send to this queue; check what else writes to it",
        )

    def _dead_letter(self, raw: dict) -> bool:
        """Move one message to the DLQ (copy first, then delete). On failure it stays
        where it is (visible again when its lease expires) and the others go on."""
        try:
            with awsutil.translate_aws_errors("move a task to the SQS dead-letter queue"):
                self.client.send_message(QueueUrl=self.dlq_url, MessageBody=raw["Body"])
                self.client.delete_message(QueueUrl=self.url, ReceiptHandle=raw["ReceiptHandle"])
        except (BackendError, ConfigError) as exc:
            log.warning("%s", exc)
            return False
        return True

    def extend(self, lease: Lease, visibility_timeout: float) -> Lease:
        self._check_current(lease)
        vt = _seconds(visibility_timeout, MAX_VISIBILITY)
        try:
            with awsutil.translate_aws_errors("extend an SQS lease"):
                self.client.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=lease.receipt, VisibilityTimeout=vt
                )
        except BackendError as exc:
            if "Total VisibilityTimeout" in exc.message:
                # SQS keeps a message leased for 12 h at most, extensions included.
                raise LeaseLostError(
                    f"task {lease.message.task_id} has run as long as SQS lets a message "
                    f"stay leased ({MAX_VISIBILITY // 3600} h); its message cannot be kept "
                    "from being delivered again",
                    code="RC-QUEUE-017",
                    hint="give such tasks a --timeout under 12 h, split them, or run them "
                    "on the embedded queue (queue: sqlite), which has no such limit",
                ) from None
            if awsutil.error_code(exc) in _LOST_CODES:
                raise self._lost(lease, exc) from None
            raise
        deadline = time.time() + vt
        with self._lock:
            if lease.message.id in self._receipts:
                self._receipts[lease.message.id] = (lease.receipt, deadline)
        return Lease(lease.message, lease.receipt, lease.receive_count, deadline)

    def ack(self, lease: Lease) -> None:
        self._check_current(lease)
        try:
            with awsutil.translate_aws_errors("delete a finished task from SQS"):
                self.client.delete_message(QueueUrl=self.url, ReceiptHandle=lease.receipt)
        except BackendError as exc:
            if awsutil.error_code(exc) in _LOST_CODES:
                raise self._lost(lease, exc) from None
            raise
        with self._lock:
            self._receipts.pop(lease.message.id, None)

    def ack_batch(self, leases: list[Lease]) -> None:
        """Delete many leased messages with DeleteMessageBatch; lost leases raise."""
        for lease in leases:
            self._check_current(lease)
        failed: list[str] = []
        for start in range(0, len(leases), MAX_BATCH):
            part = leases[start : start + MAX_BATCH]
            with awsutil.translate_aws_errors("delete finished tasks from SQS"):
                resp = self.client.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": x.receipt} for i, x in enumerate(part)
                    ],
                )
            failed += [part[int(f["Id"])].message.id for f in resp.get("Failed", [])]
        with self._lock:
            for lease in leases:
                self._receipts.pop(lease.message.id, None)
        if failed:
            raise LeaseLostError(
                f"leases on {len(failed)} message(s) are no longer held: {', '.join(failed)}",
                code="RC-QUEUE-011",
            )

    def release(self, lease: Lease) -> None:
        try:
            self.extend(lease, 0)
        except LeaseLostError:
            pass  # someone else holds it now: nothing to release

    def depth(self) -> int:
        with awsutil.translate_aws_errors("read the SQS queue depth"):
            attrs = self.client.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
        return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
            attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
        )

    def receive_dead_letters(
        self, max_messages: int = MAX_BATCH, *, visibility_timeout: float = 60.0
    ) -> list[Lease]:
        vt = _seconds(visibility_timeout, MAX_VISIBILITY)
        # A batch of only undecodable dead letters is not the end of the DLQ: try again
        # (they are deleted, or leased away, so the next call sees other messages).
        for _ in range(MAX_BATCH):
            with awsutil.translate_aws_errors("lease dead letters from the SQS dead-letter queue"):
                raw = self.client.receive_message(
                    QueueUrl=self.dlq_url,
                    MaxNumberOfMessages=max(1, min(MAX_BATCH, max_messages)),
                    VisibilityTimeout=vt,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                ).get("Messages", [])
            now = time.time()
            out: list[Lease] = []
            for m in raw:
                try:
                    message = QueueMessage.decode(m["Body"])
                except ValidationError as exc:
                    self._undecodable_dead_letter(m, exc)
                    continue
                count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                out.append(Lease(message, m["ReceiptHandle"], count, now + vt))
            if out or not raw:
                return out
        return []

    def _undecodable_dead_letter(self, raw: dict, exc: ValidationError) -> None:
        where = f"SQS dead letter {raw.get('MessageId')} in {self._dlq_url}"
        if exc.code == "RC-QUEUE-004":  # a newer rclaude can reap it: leave it leased
            self._newer.report(
                str(raw.get("MessageId")),
                where,
                exc,
                raw["Body"],
                "upgrade rclaude on every worker and orchestrator",
            )
            return
        try:
            with awsutil.translate_aws_errors("delete an undecodable SQS dead letter"):
                self.client.delete_message(
                    QueueUrl=self.dlq_url, ReceiptHandle=raw["ReceiptHandle"]
                )
            done = "deleted it (no reaper can ever read it)"
        except BackendError as other:
            done = f"could not delete it ({other.message}); it will be retried"
        poison.dropped(where, exc, raw["Body"], done, "only rclaude should write to these queues")

    def ack_dead_letter(self, lease: Lease) -> None:
        try:
            with awsutil.translate_aws_errors("delete a reaped dead letter from SQS"):
                self.client.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=lease.receipt)
        except BackendError as exc:
            if awsutil.error_code(exc) in _LOST_CODES:
                raise self._lost(lease, exc) from None
            raise

    def dead_letters(self, limit: int = 100) -> list[QueueMessage]:
        seen: dict[str, QueueMessage] = {}
        while len(seen) < limit:
            with awsutil.translate_aws_errors("peek at the SQS dead-letter queue"):
                raw = self.client.receive_message(
                    QueueUrl=self.dlq_url,
                    MaxNumberOfMessages=min(MAX_BATCH, limit - len(seen)),
                    VisibilityTimeout=0,  # a peek: the messages stay visible
                    WaitTimeSeconds=0,
                ).get("Messages", [])
            new = 0
            for m in raw:
                try:
                    msg = QueueMessage.decode(m["Body"])
                except ValidationError:
                    continue  # a peek changes nothing: the reaper reports and removes it
                if msg.id not in seen:
                    seen[msg.id] = msg
                    new += 1
            if not new:
                break
        return sorted(seen.values(), key=lambda m: m.enqueued_at)

    def close(self) -> None:
        self._client = None
