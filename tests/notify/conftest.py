from __future__ import annotations

import pytest

from tests.support.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver("whsec-test-123")
    yield r
    r.close()


@pytest.fixture
def open_receiver():
    r = Receiver(None)
    yield r
    r.close()
