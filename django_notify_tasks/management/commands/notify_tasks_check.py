"""Probe the mail server, Centrifugo and the Celery broker, one line each."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.core.management.base import BaseCommand, CommandError

from django_notify_tasks.connectivity import FAIL, probe_all


class Command(BaseCommand):
    help = (
        "Connect to the mail server (the backend deliveries use, with its timeout), call "
        "Centrifugo's info method when realtime is on, and connect to the broker of the "
        "project's Celery app. One line per probe: OK, FAIL with the reason, or SKIP. Exits "
        "non-zero when a probe fails."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        probes = probe_all(current_app)
        for probe in probes:
            self.stdout.write(str(probe))
        failed = [probe.name for probe in probes if probe.status == FAIL]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(probes)} probes failed: {', '.join(failed)}."
            )
