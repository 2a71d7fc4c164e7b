"""Settings: literal defaults declared with django-appconf, read live through ``app_settings``.

Every setting the package reads goes through ``app_settings``, its own ``NOTIFY_TASKS_*``
settings and the few of Django's and Celery's it looks at, so each default is written once.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from appconf import AppConf
from django.conf import settings


class NotifyTasksConf(AppConf):  # type: ignore[misc]  # appconf has no type hints
    """Defaults for every ``NOTIFY_TASKS_*`` setting; validation lives in ``checks.py``."""

    RULES: dict[str, Any] = {}
    EMAIL_FROM: str | None = None
    EMAIL_TIMEOUT: float = 10
    EMAIL_CONNECTIONS = 3
    MAX_RECIPIENTS = 50_000
    MAILER = "default"
    CENTRIFUGO_API_URL: str | None = None
    CENTRIFUGO_API_KEY: str | None = None
    CENTRIFUGO_TIMEOUT: float = 3
    CENTRIFUGO_TOKEN_SECRET: str | None = None
    CENTRIFUGO_TOKEN_TTL = 3600
    CENTRIFUGO_WS_URL: str | None = None
    CENTRIFUGO_CHANNEL_AUTHORIZER: Any = None
    CENTRIFUGO_HISTORY_SIZE = 100
    CENTRIFUGO_HISTORY_TTL: float = 3600
    QUEUE: str | None = None
    BROKER_TIMEOUT: float = 2
    MAX_RETRIES = 8
    RETRY_BACKOFF: float = 5
    RETRY_BACKOFF_MAX: float = 600
    SOFT_TIME_LIMIT: float = 60
    TIME_LIMIT: float = 90
    REDISPATCH_AFTER: float = 300
    DISPATCH = "relay"
    RELAY_INTERVAL: float = 0.1
    REPORT_DIR: str | None = None
    BEAT_SCHEDULE: dict[str, Any] = {}
    RETENTION_DAYS = 30
    DASHBOARD_SETTLE: float = 3600
    DIGEST_CHANNEL: str | None = "staff:digest"
    CHANNELS: list[str] = []
    RECIPIENT_LANGUAGE: str | None = None
    SITE_URL: str | None = None
    BASE_TEMPLATE: str | None = None

    class Meta:
        prefix = "notify_tasks"


T = TypeVar("T")


class AppSettings:
    """Typed, live view of the settings, so ``override_settings`` works everywhere."""

    def _get(self, name: str, kind: type[T]) -> T:
        # NotifyTasksConf, defined above, has put every default on settings by now.
        return cast(T, getattr(settings, f"NOTIFY_TASKS_{name}"))

    @property
    def rules(self) -> dict[str, Any]:
        return self._get("RULES", dict)

    @property
    def email_from(self) -> str:
        return self._get("EMAIL_FROM", str) or str(settings.DEFAULT_FROM_EMAIL)

    @property
    def email_from_setting(self) -> str | None:
        """``NOTIFY_TASKS_EMAIL_FROM`` as set, without the fallback to DEFAULT_FROM_EMAIL."""
        return self._get("EMAIL_FROM", str)

    @property
    def channels(self) -> list[str]:
        return self._get("CHANNELS", list)

    @property
    def mailer(self) -> str:
        return self._get("MAILER", str)

    @property
    def email_connections(self) -> int:
        return self._get("EMAIL_CONNECTIONS", int)

    @property
    def max_recipients(self) -> int:
        return self._get("MAX_RECIPIENTS", int)

    @property
    def email_timeout(self) -> float:
        return self._get("EMAIL_TIMEOUT", float)

    @property
    def centrifugo_api_url(self) -> str | None:
        return self._get("CENTRIFUGO_API_URL", str)

    @property
    def centrifugo_api_key(self) -> str | None:
        return self._get("CENTRIFUGO_API_KEY", str)

    @property
    def centrifugo_timeout(self) -> float:
        return self._get("CENTRIFUGO_TIMEOUT", float)

    @property
    def centrifugo_token_secret(self) -> str | None:
        return self._get("CENTRIFUGO_TOKEN_SECRET", str)

    @property
    def centrifugo_token_ttl(self) -> int:
        return self._get("CENTRIFUGO_TOKEN_TTL", int)

    @property
    def centrifugo_ws_url(self) -> str | None:
        return self._get("CENTRIFUGO_WS_URL", str)

    @property
    def centrifugo_channel_authorizer(self) -> Any:
        return self._get("CENTRIFUGO_CHANNEL_AUTHORIZER", object)

    @property
    def centrifugo_history_size(self) -> int:
        return self._get("CENTRIFUGO_HISTORY_SIZE", int)

    @property
    def centrifugo_history_ttl(self) -> float:
        return self._get("CENTRIFUGO_HISTORY_TTL", float)

    @property
    def report_dir(self) -> str | None:
        return self._get("REPORT_DIR", str)

    @property
    def beat_schedule(self) -> dict[str, Any]:
        return self._get("BEAT_SCHEDULE", dict)

    @property
    def retention_days(self) -> int:
        return self._get("RETENTION_DAYS", int)

    @property
    def dashboard_settle(self) -> float:
        return self._get("DASHBOARD_SETTLE", float)

    @property
    def digest_channel(self) -> str | None:
        return self._get("DIGEST_CHANNEL", str)

    @property
    def broker_timeout(self) -> float:
        return self._get("BROKER_TIMEOUT", float)

    @property
    def queue(self) -> str | None:
        return self._get("QUEUE", str)

    @property
    def max_retries(self) -> int:
        return self._get("MAX_RETRIES", int)

    @property
    def retry_backoff(self) -> float:
        return self._get("RETRY_BACKOFF", float)

    @property
    def retry_backoff_max(self) -> float:
        return self._get("RETRY_BACKOFF_MAX", float)

    @property
    def soft_time_limit(self) -> float:
        return self._get("SOFT_TIME_LIMIT", float)

    @property
    def time_limit(self) -> float:
        return self._get("TIME_LIMIT", float)

    @property
    def redispatch_after(self) -> float:
        return self._get("REDISPATCH_AFTER", float)

    @property
    def dispatch(self) -> str:
        """``"relay"``: the workers' relay hands outbox rows to the broker; ``"on_commit"``:
        each save publishes after its commit."""
        return self._get("DISPATCH", str)

    @property
    def relay_interval(self) -> float:
        return self._get("RELAY_INTERVAL", float)

    @property
    def recipient_language(self) -> str | None:
        """Dotted path of ``(user) -> language code or None``."""
        return self._get("RECIPIENT_LANGUAGE", str)

    @property
    def site_url(self) -> str | None:
        """Scheme and host that absolute links in messages start with, no trailing slash."""
        value = self._get("SITE_URL", str)
        return value.rstrip("/") if isinstance(value, str) else value

    @property
    def base_template(self) -> str | None:
        """The host's base template the preference pages extend (block ``content``)."""
        return self._get("BASE_TEMPLATE", str)

    # Django's and Celery's settings the package reads (their defaults, written once) --------

    @property
    def language_code(self) -> str:
        return str(settings.LANGUAGE_CODE)

    @property
    def default_from_email(self) -> str:
        return str(settings.DEFAULT_FROM_EMAIL)

    @property
    def django_mailers(self) -> dict[str, Any] | None:
        """Django 6.1's ``MAILERS``, or None where it is not set."""
        return getattr(settings, "MAILERS", None)

    @property
    def admins(self) -> list[str]:
        """``ADMINS`` as addresses: Django 6 lists strings, older settings (name, address)."""
        entries = getattr(settings, "ADMINS", None) or []
        return [entry if isinstance(entry, str) else entry[1] for entry in entries]

    @property
    def email_subject_prefix(self) -> str:
        return str(getattr(settings, "EMAIL_SUBJECT_PREFIX", ""))

    @property
    def csrf_trusted_origins(self) -> list[str]:
        return list(getattr(settings, "CSRF_TRUSTED_ORIGINS", None) or [])

    @property
    def celery_broker_url(self) -> str:
        return str(getattr(settings, "CELERY_BROKER_URL", None) or "")

    @property
    def broker_transport_options(self) -> dict[str, Any]:
        return dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {})

    @property
    def celery_result_backend(self) -> str | None:
        return getattr(settings, "CELERY_RESULT_BACKEND", None)

    @property
    def celery_beat_scheduler(self) -> str:
        return str(getattr(settings, "CELERY_BEAT_SCHEDULER", None) or "")

    @property
    def celery_beat_schedule(self) -> dict[str, Any]:
        return dict(getattr(settings, "CELERY_BEAT_SCHEDULE", None) or {})


app_settings = AppSettings()
