"""Task notifications: a signed webhook, a Slack incoming webhook, and email.

:func:`notify` is called by whoever observes a task's state change (the worker or the
control plane), so notifications arrive with the user's laptop closed. Each channel is
optional and independent; delivery problems are reported in the returned dict (channel →
outcome) and logged, never raised, so a notification can not fail a task. Secrets (the
HMAC key, the Slack URL) are read from environment variables named in the settings and
are never logged.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from rclaude.errors import ValidationError

log = logging.getLogger(__name__)

EVENTS = ("start", "success", "failure")
_STATE_EVENTS = {
    "running": "start",
    "succeeded": "success",
    "failed": "failure",
    "timed_out": "failure",
    "lost": "failure",
    "cancelled": "failure",
}


def event_for_state(state: str) -> str | None:
    """The notification event for a task state (``running`` → start, …), or None."""
    return _STATE_EVENTS.get(str(state))


def task_summary(task, *, url: str | None = None) -> dict[str, Any]:
    """The summary dict :func:`notify` sends, built from a :class:`rclaude.model.Task`.

    Picks ``branch``, ``pr_url`` and ``cost_usd`` out of ``task.result`` when present.
    Holds no command environment (it may contain secrets) and no output.
    """
    result = task.result or {}
    duration = task.duration
    out: dict[str, Any] = {
        "id": task.id,
        "name": task.spec.name,
        "state": str(task.state),
        "attempt": task.attempt,
        "exit_code": task.exit_code,
        "reason": task.reason,
        "duration": round(duration, 1) if duration is not None else None,
        "prompt": (task.spec.prompt or "")[:500] or None,
        "branch": result.get("branch"),
        "pr_url": result.get("pr_url"),
        "cost_usd": result.get("cost_usd") or (result.get("agent") or {}).get("cost_usd"),
        "url": url,
    }
    return {k: v for k, v in out.items() if v is not None}


def _headline(event: str, task: dict[str, Any]) -> str:
    label = task.get("name") or task.get("id") or "task"
    if event == "start":
        return f"rclaude task {label} started"
    if event == "success":
        return f"rclaude task {label} succeeded"
    detail = task.get("reason") or (
        f"exit code {task['exit_code']}" if task.get("exit_code") is not None else task.get("state")
    )
    return f"rclaude task {label} failed" + (f" ({detail})" if detail else "")


def _lines(task: dict[str, Any]) -> list[str]:
    keys = ("id", "state", "exit_code", "duration", "branch", "pr_url", "cost_usd", "url")
    return [f"{k}: {task[k]}" for k in keys if task.get(k) not in (None, "")]


def slack_payload(event: str, task: dict[str, Any]) -> dict[str, Any]:
    """Slack incoming-webhook JSON: ``text`` fallback plus Block Kit sections."""
    head = _headline(event, task)
    emoji = {"start": ":arrow_forward:", "success": ":white_check_mark:"}.get(event, ":x:")
    fields = [
        {"type": "mrkdwn", "text": f"*{k}*\n{v}"}
        for k, v in (line.split(": ", 1) for line in _lines(task))
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} *{head}*"}}
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})
    return {"text": head, "blocks": blocks}


def notify(
    settings,
    event: str,
    task_summary: dict[str, Any],
    mailer=None,
    *,
    env: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Send ``event`` for a task on every configured channel; return channel → outcome.

    Channels not configured are absent from the result; an event not in
    ``settings.events`` sends nothing (result ``{}``).
    """
    from rclaude.notify import webhook

    if event not in EVENTS:
        raise ValidationError(
            f"unknown notification event {event!r}",
            code="RC-NOTIFY-001",
            hint="use one of: " + ", ".join(EVENTS),
        )
    if event not in settings.events:
        return {}
    env = os.environ if env is None else env
    results: dict[str, str] = {}
    retry = {
        "retries": settings.retries,
        "backoff": settings.backoff,
        "max_delay": settings.max_delay,
        "timeout": settings.timeout,
        "sleep": sleep,
    }

    if settings.webhook_url:
        delivery_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "event": event,
                "delivery": delivery_id,
                "timestamp": int(time.time()),
                "task": task_summary,
            },
            separators=(",", ":"),
            default=str,
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "rclaude-notify",
            webhook.EVENT_HEADER: event,
            webhook.DELIVERY_HEADER: delivery_id,
        }
        secret = env.get(settings.webhook_secret_env)
        if secret:
            headers[webhook.SIGNATURE_HEADER] = webhook.sign(secret, body)
        result = webhook.post(settings.webhook_url, body, headers, **retry)
        results["webhook"] = result.describe() + (
            "" if secret else f" [unsigned: set {settings.webhook_secret_env}]"
        )

    slack_url = settings.slack_webhook_url or env.get(settings.slack_webhook_url_env)
    if slack_url:
        body = json.dumps(slack_payload(event, task_summary), default=str).encode()
        result = webhook.post(slack_url, body, {"Content-Type": "application/json"}, **retry)
        results["slack"] = result.describe()

    if settings.email:
        if mailer is None:
            results["email"] = "skipped: no mailer configured"
        else:
            subject = _headline(event, task_summary)
            text = subject + "\n\n" + "\n".join(_lines(task_summary)) + "\n"
            sent = 0
            for to in settings.email:
                try:
                    mailer.send(to, subject, text)
                    sent += 1
                except Exception as exc:  # one bad address must not stop the others
                    log.warning("notification email to %s failed: %s", to, exc)
            results["email"] = f"sent to {sent} of {len(settings.email)}"

    for channel, outcome in results.items():
        log.info("notify %s %s: %s", event, channel, outcome)
    return results
