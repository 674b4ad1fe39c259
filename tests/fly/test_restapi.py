"""Retry-After parsing and backoff used by the Fly, GitHub and webhook clients."""

from __future__ import annotations

import email.utils

from rclaude.compute.restapi import backoff_delay, retry_after_seconds


def test_retry_after_delta_seconds():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 0 ") == 0.0
    assert retry_after_seconds("-3") == 0.0


def test_retry_after_http_date():
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 12, usegmt=True)
    assert retry_after_seconds(header, now=now) == 12.0
    assert retry_after_seconds(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0


def test_retry_after_absent_or_garbage():
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def test_backoff_prefers_retry_after_and_caps():
    assert backoff_delay(0, 0.5, 30, None) == 0.5
    assert backoff_delay(3, 0.5, 30, None) == 4.0
    assert backoff_delay(10, 0.5, 30, None) == 30
    assert backoff_delay(0, 0.5, 30, 9.0) == 9.0
    assert backoff_delay(0, 0.5, 30, 3600.0) == 30
