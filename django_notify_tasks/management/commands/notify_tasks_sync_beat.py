"""Write the package's beat schedule into django-celery-beat's tables."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from django_notify_tasks.beat_sync import Change, sync_beat
from django_notify_tasks.exceptions import NotifyTasksError

VERBS = {
    "create": ("created", "would create"),
    "update": ("updated", "would update"),
    "delete": ("deleted", "would delete"),
    "keep": ("unchanged", "unchanged"),
}


class Command(BaseCommand):
    help = (
        "Create, update and delete django-celery-beat PeriodicTask rows so they match the "
        "bundled beat schedule with NOTIFY_TASKS_BEAT_SCHEDULE applied. Rows an admin "
        "disabled stay disabled; rows not named 'notify-tasks-...' are never deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; write nothing."
        )

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        try:
            changes = sync_beat(dry_run=dry_run)
        except NotifyTasksError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            raise CommandError(
                f"django-celery-beat's tables could not be used ({exc}); run migrate."
            ) from exc
        for change in changes:
            self.stdout.write(describe(change, dry_run))
        counts = {verb: sum(c.action == verb for c in changes) for verb in VERBS}
        summary = ", ".join(f"{counts[verb]} {VERBS[verb][dry_run]}" for verb in VERBS)
        suffix = " (dry run: nothing written)" if dry_run else ""
        self.stdout.write(f"{summary}{suffix}.")


def describe(change: Change, dry_run: bool) -> str:
    """One line per row, e.g. ``updated    notify-tasks-purge-old: schedule, queue``."""
    line = f"{VERBS[change.action][dry_run]:<13} {change.name}"
    if change.detail:
        line += f": {change.detail}"
    if not change.enabled and change.action != "delete":
        line += " (disabled in the admin; stays disabled)"
    return line
