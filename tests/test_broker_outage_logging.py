"""While the broker is down, each save logs one line (the first of the outage with its
traceback), and the first publish that goes through afterwards logs one summary."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from kombu.exceptions import OperationalError

from django_notify_tasks import dispatch


class FlakyPool:
    """Producers from a broker that is down while ``down`` is True."""

    down = True

    @contextlib.contextmanager
    def acquire(self, **options: Any) -> Iterator[None]:
        if self.down:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        yield None


@pytest.fixture
def pool(monkeypatch: Any) -> FlakyPool:
    flaky = FlakyPool()
    monkeypatch.setattr(dispatch, "_producers", lambda app, timeout: flaky)
    monkeypatch.setattr("celery.app.task.Task.apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr(dispatch, "outage", dispatch.BrokerOutage())
    return flaky


def test_an_outage_logs_one_traceback_then_one_line_a_save_then_a_summary(
    pool: FlakyPool, caplog: Any
) -> None:
    with caplog.at_level(logging.WARNING, logger="django_notify_tasks.dispatch"):
        for notification_id in (1, 2, 3):  # three saves while the broker is down
            dispatch.enqueue_notifications([notification_id])
        pool.down = False
        dispatch.enqueue_notifications([4])
        dispatch.enqueue_notifications([5])
    records = [r for r in caplog.records if r.name == "django_notify_tasks.dispatch"]
    assert [bool(r.exc_info) for r in records] == [True, False, False, False]
    assert [r.getMessage()[:45] for r in records[:3]] == [
        "Could not send django_notify_tasks.process_no"
    ] * 3
    assert "(3,)" in records[2].getMessage() and "OperationalError" in records[2].getMessage()
    assert records[3].getMessage().startswith("The broker is back: 3 publish(es) failed")


def test_a_save_with_several_rows_logs_them_in_one_more_line(pool: FlakyPool, caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="django_notify_tasks.dispatch"):
        dispatch.enqueue_notifications([1, 2, 3])
    messages = [r.getMessage() for r in caplog.records if r.name == "django_notify_tasks.dispatch"]
    assert len(messages) == 2
    assert messages[1] == "2 more notification(s) stay pending until then."
