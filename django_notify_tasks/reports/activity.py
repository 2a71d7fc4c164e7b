"""The activity digest from start to end: figures, JSON file, email and staff channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.exceptions import NotifyTasksError
from django_notify_tasks.reports.digest import QUERY_STEPS, build_digest
from django_notify_tasks.reports.files import report_dir, write_json_atomic
from django_notify_tasks.reports.period import digest_period
from django_notify_tasks.reports.send_digest import email_digest, publish_digest

Progress = Callable[[int, int], None]  # (steps done, steps in all)
SEND_STEPS = 2  # email, staff channel


class DigestNotSent(NotifyTasksError):
    """The digest was computed and written, but emailing or publishing it failed."""


def digest_file_name(slug: str) -> str:
    return f"activity_digest_{slug}.json"


def activity_digest(
    start: str | datetime | None = None,
    end: str | datetime | None = None,
    hours: float | None = None,
    *,
    send: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build the digest of ``[start, end)``, write it, and with ``send`` email and publish it.

    Returns the digest with ``file`` (the path written), ``emailed`` (how many admins) and
    ``published`` (the staff channel, or None). Raises ``DigestPeriodError`` for a bad
    period and ``ReportDirError`` before any query when there is nowhere to write; raises
    ``DigestNotSent`` after trying both ways of sending when either failed.
    """
    period = digest_period(start, end, hours)
    directory = report_dir()
    total = QUERY_STEPS + 1 + (SEND_STEPS if send else 0)
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    digest = build_digest(period, advance)
    path = write_json_atomic(directory / digest_file_name(period.slug()), digest)
    advance()
    result = {**digest, "file": str(path), "emailed": 0, "published": None}
    if send:
        outgoing = {**digest, "file": path.name}
        problems = []
        try:
            result["emailed"] = email_digest(outgoing)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # SMTP trouble, a template error, a bad mailer
            problems.append(f"email to ADMINS: {type(exc).__name__}: {exc}")
        advance()
        try:
            result["published"] = publish_digest(outgoing, f"notify-tasks-digest-{period.slug()}")
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # Centrifugo down, a bad key, an unknown namespace
            problems.append(f"staff channel: {realtime.classify(exc)}")
        advance()
        if problems:
            raise DigestNotSent(f"The digest was written to {path}, but " + "; ".join(problems))
    return result
