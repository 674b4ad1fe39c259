"""Notifications over real HTTP to local receivers, and email through a recording Mailer."""

from __future__ import annotations

import logging

import pytest

from rclaude.config.schema import NotifySettings
from rclaude.errors import ValidationError
from rclaude.notify import event_for_state, notify, slack_payload
from rclaude.notify.webhook import DELIVERY_HEADER, EVENT_HEADER, sign, verify
from rclaude.ports import Mailer

SECRET = "whsec-test-123"
TASK = {
    "id": "t123",
    "name": "fix-bug",
    "state": "failed",
    "exit_code": 2,
    "pr_url": None,
    "branch": "rclaude/fix-bug",
}


class RecordingMailer:
    def __init__(self, fail_for: str | None = None) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail_for = fail_for

    def send(self, to: str, subject: str, body: str) -> None:
        if to == self.fail_for:
            raise OSError("mailbox unavailable")
        self.sent.append((to, subject, body))


def settings(**kw) -> NotifySettings:
    return NotifySettings(**{"backoff": 0.5, **kw})


def test_webhook_signed_retried_after_500_and_delivered(receiver):
    receiver.script = [(500, {})]
    sleeps: list[float] = []
    out = notify(
        settings(webhook_url=receiver.url),
        "failure",
        TASK,
        env={"RCLAUDE_WEBHOOK_SECRET": SECRET},
        sleep=sleeps.append,
    )
    assert out["webhook"].startswith("sent (HTTP 200, 2 attempt(s))")
    assert len(receiver.received) == 2 and all(r["verified"] for r in receiver.received)
    assert sleeps == [0.5]
    (body,) = receiver.delivered
    assert body["event"] == "failure" and body["task"]["id"] == "t123"
    headers = receiver.received[-1]["headers"]
    assert headers[EVENT_HEADER] == "failure" and headers[DELIVERY_HEADER] == body["delivery"]
    # both attempts carry the same delivery id (receivers can de-duplicate)
    assert receiver.received[0]["headers"][DELIVERY_HEADER] == body["delivery"]


def test_retry_after_is_honoured(receiver):
    receiver.script = [(429, {"Retry-After": "3"}), (503, {})]
    sleeps: list[float] = []
    out = notify(
        settings(webhook_url=receiver.url),
        "failure",
        TASK,
        env={"RCLAUDE_WEBHOOK_SECRET": SECRET},
        sleep=sleeps.append,
    )
    assert "sent" in out["webhook"]
    assert sleeps == [3.0, 1.0]  # Retry-After, then backoff 0.5 * 2**1


def test_wrong_secret_is_rejected_and_not_retried(receiver):
    sleeps: list[float] = []
    out = notify(
        settings(webhook_url=receiver.url),
        "failure",
        TASK,
        env={"RCLAUDE_WEBHOOK_SECRET": "other"},
        sleep=sleeps.append,
    )
    assert out["webhook"].startswith("failed after 1 attempt(s): HTTP 401")
    assert receiver.delivered == [] and sleeps == []


def test_gives_up_after_retries(receiver):
    receiver.script = [(500, {})] * 10
    sleeps: list[float] = []
    out = notify(
        settings(webhook_url=receiver.url, retries=2),
        "failure",
        TASK,
        env={"RCLAUDE_WEBHOOK_SECRET": SECRET},
        sleep=sleeps.append,
    )
    assert out["webhook"] == "failed after 3 attempt(s): HTTP 500"
    assert len(receiver.received) == 3 and sleeps == [0.5, 1.0]


def test_unreachable_receiver_is_reported_not_raised():
    sleeps: list[float] = []
    out = notify(
        settings(webhook_url="http://127.0.0.1:9/hook", retries=1),
        "failure",
        TASK,
        env={},
        sleep=sleeps.append,
    )
    assert out["webhook"].startswith("failed after 2 attempt(s): ConnectError")


def test_unsigned_when_no_secret_is_flagged(open_receiver):
    out = notify(settings(webhook_url=open_receiver.url), "failure", TASK, env={})
    assert "unsigned" in out["webhook"]
    assert "X-Rclaude-Signature-256" not in open_receiver.received[0]["headers"]


def test_slack_payload_shape_and_delivery(open_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    out = notify(
        settings(events=["success"]),
        "success",
        {**TASK, "state": "succeeded", "pr_url": "https://github.com/o/r/pull/1"},
        env={"RCLAUDE_SLACK_WEBHOOK_URL": open_receiver.url},
    )
    assert out == {"slack": "sent (HTTP 200, 1 attempt(s))"}
    (payload,) = open_receiver.delivered
    assert payload["text"] == "rclaude task fix-bug succeeded"
    assert payload["blocks"][0]["type"] == "section"
    assert payload["blocks"][0]["text"]["type"] == "mrkdwn"
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in payload["blocks"][1]["fields"]
    }
    assert fields["*pr_url*"] == "https://github.com/o/r/pull/1"
    assert open_receiver.url not in caplog.text  # the Slack URL is a secret


def test_email_through_mailer_port():
    mailer = RecordingMailer(fail_for="bad@example.com")
    assert isinstance(mailer, Mailer)
    out = notify(
        settings(email=["a@example.com", "bad@example.com", "b@example.com"]),
        "failure",
        TASK,
        mailer,
    )
    assert out == {"email": "sent to 2 of 3"}
    to, subject, body = mailer.sent[0]
    assert to == "a@example.com"
    assert subject == "rclaude task fix-bug failed (exit code 2)"
    assert "branch: rclaude/fix-bug" in body


def test_email_without_mailer_is_skipped():
    assert notify(settings(email=["a@example.com"]), "failure", TASK) == {
        "email": "skipped: no mailer configured"
    }


def test_events_not_selected_send_nothing(receiver):
    out = notify(settings(webhook_url=receiver.url), "start", TASK, env={})
    assert out == {} and receiver.received == []


def test_unknown_event_is_an_error():
    with pytest.raises(ValidationError):
        notify(settings(), "finished", TASK)


def test_secret_not_logged(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    notify(
        settings(webhook_url=receiver.url), "failure", TASK, env={"RCLAUDE_WEBHOOK_SECRET": SECRET}
    )
    assert SECRET not in caplog.text


def test_sign_and_verify():
    body = b'{"a":1}'
    sig = sign("k", body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify("k", body, sig)
    assert not verify("k", body + b" ", sig)
    assert not verify("k", body, None)


def test_event_for_state():
    assert event_for_state("running") == "start"
    assert event_for_state("succeeded") == "success"
    assert event_for_state("timed_out") == "failure"
    assert event_for_state("queued") is None


def test_slack_payload_without_fields():
    p = slack_payload("start", {"id": "x"})
    assert p["text"] == "rclaude task x started"


def test_malformed_url_is_reported_not_raised():
    out = notify(settings(webhook_url="not a url", retries=0), "failure", TASK, env={})
    assert out["webhook"].startswith("failed after 1 attempt(s)")


def test_task_summary_from_task():
    from rclaude.model import Task, TaskSpec, TaskState
    from rclaude.notify import task_summary

    task = Task(
        id="t9",
        spec=TaskSpec(prompt="fix it", name="fx", env={"API_KEY": "hunter2"}),
        state=TaskState.SUCCEEDED,
        exit_code=0,
        started_at=10.0,
        finished_at=25.0,
        result={
            "branch": "rclaude/fx",
            "pr_url": "https://github.com/o/r/pull/3",
            "agent": {"cost_usd": 0.5},
        },
    )
    s = task_summary(task, url="https://rc.example/tasks/t9")
    assert s == {
        "id": "t9",
        "name": "fx",
        "state": "succeeded",
        "attempt": 0,
        "exit_code": 0,
        "duration": 15.0,
        "prompt": "fix it",
        "branch": "rclaude/fx",
        "pr_url": "https://github.com/o/r/pull/3",
        "cost_usd": 0.5,
        "url": "https://rc.example/tasks/t9",
    }
    assert "hunter2" not in str(s)
