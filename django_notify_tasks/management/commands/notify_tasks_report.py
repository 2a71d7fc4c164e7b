"""Run a report now, in this process, as beat would have it run by a worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from django_notify_tasks import reports
from django_notify_tasks.exceptions import NotifyTasksError

DIGEST = "activity_digest"
REPORTS: dict[str, Callable[..., Any]] = {
    "user_counts": reports.user_count_report,
    DIGEST: reports.activity_digest,
    "purge_old": reports.purge_old,
}


class Command(BaseCommand):
    help = "Run a django-notify-tasks report now: " + ", ".join(REPORTS) + "."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=sorted(REPORTS))
        digest = parser.add_argument_group(f"{DIGEST} only")
        digest.add_argument("--start", help="ISO 8601 start, e.g. 2026-11-21T06:00:00+00:00")
        digest.add_argument("--end", help="ISO 8601 end (excluded); default: now")
        digest.add_argument("--hours", type=float, help="period before the end; default 24")
        digest.add_argument(
            "--no-send",
            dest="send",
            action="store_false",
            help="write the file only: no email to ADMINS, nothing on the staff channel",
        )

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        digest_options = {key: options[key] for key in ("start", "end", "hours", "send")}
        given = {key for key, value in digest_options.items() if value not in (None, True)}
        if name != DIGEST and given:
            raise CommandError(f"--start, --end, --hours and --no-send apply to {DIGEST} only.")
        try:
            result = REPORTS[name](**digest_options) if name == DIGEST else REPORTS[name]()
        except NotifyTasksError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{name}: {json.dumps(result, cls=DjangoJSONEncoder, indent=2)}")
