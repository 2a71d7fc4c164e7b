"""Live progress of a report run, published on the digest channel for pages to follow.

The status endpoint stays the record (``update_state``); these publications only let an
open page move its bar without waiting for its next poll. So they are best effort: small,
throttled (a step is published when its whole percent went up and ``MIN_INTERVAL`` passed
since the last one: at most 100 steps and 5 a second, plus the final state), and the first
failure ends them for the rest of the run, so a Centrifugo that is down or hangs costs a
report one ``NOTIFY_TASKS_CENTRIFUGO_TIMEOUT`` at most and never fails it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

from celery.exceptions import SoftTimeLimitExceeded

from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.reports.activity import activity_digest
from django_notify_tasks.reports.send_digest import digest_channel

MIN_INTERVAL = 0.2  # seconds between two progress publications of a run
MESSAGE_TYPE = "progress"
PROGRESS, SUCCESS, FAILURE = "PROGRESS", "SUCCESS", "FAILURE"
SUMMARY_KEYS = ("period", "totals", "new_users", "emailed", "published")

logger = logging.getLogger(__name__)
if TYPE_CHECKING:
    from celery import Task

    AnyTask = Task[Any, Any]
else:
    AnyTask = Any
P = ParamSpec("P")
Result = dict[str, Any]


def now() -> float:
    return time.monotonic()


def percent_of(current: int, total: int) -> int:
    """Whole percent done; 0 while the total is unknown."""
    return round(100 * current / total) if total else 0


def digest_summary(result: Result) -> dict[str, Any]:
    """What the final publication says of a digest: its figures, not its rows, no paths."""
    summary = {key: result.get(key) for key in SUMMARY_KEYS}
    summary["file"] = Path(result["file"]).name if result.get("file") else None
    return summary


class LiveProgress:
    """Publishes one run's steps and its final state on the digest channel, when it is set."""

    def __init__(
        self,
        task_id: str | None,
        report: str = "activity_digest",
        summarize: Callable[[Result], dict[str, Any]] = digest_summary,
    ) -> None:
        self.task_id = task_id
        self.report = report
        self.summarize = summarize
        # None: realtime off, no channel, called outside a task, or a publication failed.
        self.channel = digest_channel() if task_id else None
        self.current = 0
        self.total = 0
        self.last_percent = -1  # nothing published yet
        self.last_at: float | None = None

    def step(self, current: int, total: int) -> None:
        """Publish this step if the throttle lets it through."""
        self.current, self.total = current, total
        percent = percent_of(current, total)
        if self.channel is None or percent <= self.last_percent:
            return
        moment = now()
        if self.last_at is not None and moment - self.last_at < MIN_INTERVAL:
            return
        if self._publish(PROGRESS, percent):
            self.last_percent, self.last_at = percent, moment

    def run(self, report: Callable[P, Result], *args: P.args, **kwargs: P.kwargs) -> Result:
        """``report(*args, **kwargs)``, then its final state, success or failure, published."""
        try:
            result = report(*args, **kwargs)
        except Exception as exc:
            self._publish(FAILURE, percent_of(self.current, self.total), error=_reason(exc))
            raise
        self.current = self.total
        self._publish(SUCCESS, 100, summary=self.summarize(result))
        return result

    def _publish(self, state: str, percent: int, **final: Any) -> bool:
        if self.channel is None:
            return False
        payload = {
            "type": MESSAGE_TYPE,
            "report": self.report,
            "task_id": self.task_id,
            "state": state,
            "current": self.current,
            "total": self.total or None,
            "percent": percent,
            "summary": final.get("summary"),
            "error": final.get("error"),
        }
        try:
            realtime.publish(self.channel, payload)
        except SoftTimeLimitExceeded:
            raise  # the report's own time is up: let the task stop
        except Exception as exc:  # down, hung, a bad key, an unknown namespace
            logger.warning(
                "Live progress of %s on %s stopped for this run (the status endpoint still "
                "has it): %s",
                self.task_id,
                self.channel,
                realtime.classify(exc),
            )
            self.channel = None
            return False
        return True


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def run_activity_digest(
    task: AnyTask, start: str | None, end: str | None, hours: float | None, send: bool
) -> Result:
    """The ``activity_digest`` task's run: the digest, its progress stored and published."""
    live = LiveProgress(task.request.id)

    def progress(current: int, total: int) -> None:
        store_progress(task, current, total)  # stored first: the record pages fall back on
        live.step(current, total)

    return live.run(activity_digest, start, end, hours, send=send, progress=progress)


def store_progress(task: AnyTask, current: int, total: int) -> None:
    """Store state PROGRESS for the status endpoint; a report never fails for its progress."""
    if not task.request.id:  # called as a plain function, not as a task
        return
    meta = {"current": current, "total": total, "percent": percent_of(current, total)}
    try:
        task.update_state(state="PROGRESS", meta=meta)
    except Exception:  # the result backend is down: the report itself can still be made
        logger.warning("Could not store the progress of %s", task.request.id, exc_info=True)
