"""Run a report now, in this process, as beat would have it run by a worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_notify_tasks import reports

REPORTS: dict[str, Callable[[], Any]] = {
    "user_counts": reports.user_count_report,
    "purge_old": reports.purge_old,
}


class Command(BaseCommand):
    help = "Run a django-notify-tasks report now: " + ", ".join(REPORTS) + "."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=sorted(REPORTS))

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        try:
            result = REPORTS[name]()
        except reports.ReportDirError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{name}: {result}")
