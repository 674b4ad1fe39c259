"""``Mailer`` implementations (see ``rclaude.ports.Mailer``).

- :class:`DevMailer` (embedded default): appends each message as one JSON line to
  ``<data dir>/outbox.jsonl`` (mode 0600) and logs a line saying where it went. The
  outbox is the place the operator asked for the links to go, so the link is written
  there; the server log only names the recipient and the outbox path.
- :class:`SesMailer` (production): Amazon SES ``SendEmail`` through boto3, imported
  lazily; the AWS endpoint and region come from the ``aws`` config section.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from rclaude.errors import BackendError

log = logging.getLogger("rclaude.server")


class DevMailer:
    def __init__(self, outbox: Path) -> None:
        self.outbox = Path(outbox)
        self._lock = threading.Lock()

    def send(self, to: str, subject: str, body: str) -> None:
        line = json.dumps({"to": to, "subject": subject, "body": body, "at": time.time()}) + "\n"
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.outbox, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        log.info("dev mailer: message %r for %s written to %s", subject, to, self.outbox)


class SesMailer:
    def __init__(self, config, sender: str) -> None:
        self.config = config
        self.sender = sender
        self._client = None

    def _ses(self):
        if self._client is None:
            import boto3

            self._client = boto3.client(
                "ses", region_name=self.config.aws.region, endpoint_url=self.config.aws.endpoint_url
            )
        return self._client

    def send(self, to: str, subject: str, body: str) -> None:
        try:
            self._ses().send_email(
                Source=self.sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except Exception as exc:  # botocore errors: translated at the boundary
            raise BackendError(
                f"SES could not send mail to {to}: {exc.__class__.__name__}",
                code="RC-MAIL-001",
                hint="check that the sender address is verified in SES",
            ) from None
        log.info("ses mailer: message %r sent to %s", subject, to)


def build_mailer(platform):
    cfg = platform.config
    if cfg.server.mailer == "ses":
        return SesMailer(cfg, cfg.server.mail_from)
    return DevMailer(platform.data_dir / "outbox.jsonl")
