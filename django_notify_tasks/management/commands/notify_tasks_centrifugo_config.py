"""Print a Centrifugo config matching the Django settings, so the two never drift."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_notify_tasks.channels.realtime.config import build_config
from django_notify_tasks.conf import app_settings


class Command(BaseCommand):
    help = (
        "Print a Centrifugo JSON config (API key, token HMAC secret, allowed origins, the "
        "namespaces your rules use) built from NOTIFY_TASKS_CENTRIFUGO_* settings. It "
        "contains secrets: write it to a file only Centrifugo reads."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # --version here is Centrifugo's major version, replacing Django's --version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--version", type=int, choices=[5, 6], default=6, dest="major")
        parser.add_argument(
            "--allowed-origin",
            action="append",
            dest="origins",
            help="Browser origin allowed to connect (repeatable). Default: "
            "CSRF_TRUSTED_ORIGINS, or http://localhost:8000.",
        )

    def handle(self, *args: Any, major: int, origins: list[str] | None, **options: Any) -> None:
        missing = [
            name
            for name, value in (
                ("NOTIFY_TASKS_CENTRIFUGO_API_KEY", app_settings.centrifugo_api_key),
                ("NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET", app_settings.centrifugo_token_secret),
            )
            if not value
        ]
        if missing:
            raise CommandError(f"Set {' and '.join(missing)} first (from the environment).")
        origins = origins or app_settings.csrf_trusted_origins or ["http://localhost:8000"]
        self.stdout.write(json.dumps(build_config(major, origins), indent=2))
