"""System checks: ids ``django_notify_tasks.E0xx`` and ``W0xx``, listed in docs/checks.md."""

from __future__ import annotations

from numbers import Real
from typing import Any

import django
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from django_notify_tasks.beat import ScheduleError, beat_schedule
from django_notify_tasks.email import template_problems
from django_notify_tasks.reports import ReportDirError, report_dir
from django_notify_tasks.rules import current_rules

PREFIX = "django_notify_tasks"
DEFAULT_VISIBILITY_TIMEOUT = 3600
REPORT_TASKS = {"django_notify_tasks.user_count_report", "django_notify_tasks.activity_digest"}

# setting suffix -> (predicate, what it should be)
NUMBER_SETTINGS = {
    "EMAIL_TIMEOUT": "a positive number of seconds",
    "CENTRIFUGO_TIMEOUT": "a positive number of seconds",
    "RETRY_BACKOFF": "a positive number of seconds",
    "RETRY_BACKOFF_MAX": "a positive number of seconds",
    "SOFT_TIME_LIMIT": "a positive number of seconds",
    "TIME_LIMIT": "a positive number of seconds",
    "REDISPATCH_AFTER": "a positive number of seconds",
}
INTEGER_SETTINGS = {
    "MAX_RETRIES": 0,
    "RETENTION_DAYS": 1,
    "CENTRIFUGO_TOKEN_TTL": 1,
    "EMAIL_CONNECTIONS": 1,
}
OPTIONAL_STRING_SETTINGS = ("EMAIL_FROM", "QUEUE", "REPORT_DIR")


def check_rules(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every problem in ``NOTIFY_TASKS_RULES``, including templates that do not load."""
    parsed = current_rules()
    messages: list[CheckMessage] = [
        Error(
            error.message,
            hint=error.hint,
            obj="NOTIFY_TASKS_RULES",
            id=f"{PREFIX}.{error.check_id}",
        )
        for _, error in parsed.problems
    ]
    for rule in parsed.rules.values():
        if rule.email is None:
            continue
        for problem in template_problems(rule.email):
            messages.append(
                Error(
                    f"Rule {rule.name!r}: the email {problem}.",
                    hint="Create the template, or fix it, or give inline 'subject' and 'body'.",
                    obj="NOTIFY_TASKS_RULES",
                    id=f"{PREFIX}.E008",
                )
            )
    return messages


def check_realtime(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Centrifugo settings that realtime rules need, and mistakes the cent client punishes."""
    messages: list[CheckMessage] = []
    url = getattr(settings, "NOTIFY_TASKS_CENTRIFUGO_API_URL", None)
    parsed = current_rules()
    realtime_rules = sorted(name for name, rule in parsed.rules.items() if rule.realtime)
    if realtime_rules and not url:
        messages.append(
            Warning(
                f"Rules {realtime_rules!r} have a 'realtime' section, but realtime is off "
                "(NOTIFY_TASKS_CENTRIFUGO_API_URL is not set): they will only send email.",
                hint="Set NOTIFY_TASKS_CENTRIFUGO_API_URL where Centrifugo runs, or silence "
                "this warning where it deliberately does not.",
                id=f"{PREFIX}.W005",
            )
        )
    if url and not getattr(settings, "NOTIFY_TASKS_CENTRIFUGO_API_KEY", None):
        messages.append(
            Error(
                "NOTIFY_TASKS_CENTRIFUGO_API_KEY should be set when "
                "NOTIFY_TASKS_CENTRIFUGO_API_URL is: Centrifugo answers 401 without it.",
                hint="Set it from the environment (e.g. os.environ['CENTRIFUGO_API_KEY']).",
                id=f"{PREFIX}.E013",
            )
        )
    if url and not getattr(settings, "NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET", None):
        messages.append(
            Warning(
                "NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET should be set when realtime is enabled.",
                hint="Set it from the environment to Centrifugo's HMAC secret "
                "(token_hmac_secret_key in v5, client.token.hmac_secret_key in v6); without "
                "it the token endpoints answer 503 and browsers cannot connect.",
                id=f"{PREFIX}.W003",
            )
        )
    if isinstance(url, str) and url.endswith("/"):
        messages.append(
            Error(
                f"NOTIFY_TASKS_CENTRIFUGO_API_URL should not end with '/' ({url!r}).",
                hint=f"Use {url.rstrip('/')!r}: with the slash every call fails with HTTP 405.",
                id=f"{PREFIX}.E014",
            )
        )
    return messages


def check_mailer(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """On Django 6.1+ with MAILERS, the alias the package sends through must exist."""
    alias = getattr(settings, "NOTIFY_TASKS_MAILER", "default")
    mailers = getattr(settings, "MAILERS", None)
    if django.VERSION < (6, 1) or mailers is None or alias in mailers:
        return []
    return [
        Error(
            f"NOTIFY_TASKS_MAILER should name a mailer in MAILERS, not {alias!r}.",
            hint=f"Use one of {sorted(mailers)!r}, or add {alias!r} to MAILERS.",
            id=f"{PREFIX}.E017",
        )
    ]


def check_beat(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The schedule overrides, and the report directory the scheduled reports write to."""
    try:
        schedule = beat_schedule()
    except ScheduleError as exc:
        return [
            Error(
                str(exc),
                hint="Fix or remove that entry of NOTIFY_TASKS_BEAT_SCHEDULE.",
                id=f"{PREFIX}.E016",
            )
        ]
    try:
        report_dir()
    except ReportDirError as exc:
        if getattr(settings, "NOTIFY_TASKS_REPORT_DIR", None):
            return [
                Error(
                    f"{exc}.",
                    hint="Create the directory and let the worker's user write to it.",
                    id=f"{PREFIX}.E015",
                )
            ]
        reporting = sorted(
            name for name, entry in schedule.items() if entry["task"] in REPORT_TASKS
        )
        if reporting:
            tasks = sorted({schedule[name]["task"].rpartition(".")[2] for name in reporting})
            off = ", ".join(f"{name!r}: None" for name in reporting)
            return [
                Warning(
                    "NOTIFY_TASKS_REPORT_DIR should be set: the beat schedule runs reports "
                    f"that fail without it ({', '.join(tasks)}).",
                    hint="Set NOTIFY_TASKS_REPORT_DIR to a writable directory, or turn the "
                    f"reports off: NOTIFY_TASKS_BEAT_SCHEDULE = {{{off}}}.",
                    id=f"{PREFIX}.W004",
                )
            ]
    return []


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Types and ranges of the scalar settings, and the order of the timeouts."""
    messages = _type_errors()
    if not messages:
        messages += _timeout_order_warnings()
    if not getattr(settings, "NOTIFY_TASKS_EMAIL_FROM", None) and (
        settings.DEFAULT_FROM_EMAIL == "webmaster@localhost"
    ):
        messages.append(
            Warning(
                "Emails would be sent from 'webmaster@localhost'.",
                hint="Set NOTIFY_TASKS_EMAIL_FROM or DEFAULT_FROM_EMAIL to a real address.",
                id=f"{PREFIX}.W002",
            )
        )
    return messages


def _setting(suffix: str) -> Any:
    return getattr(settings, f"NOTIFY_TASKS_{suffix}")


def _type_errors() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for suffix, expected in NUMBER_SETTINGS.items():
        value = _setting(suffix)
        if isinstance(value, bool) or not isinstance(value, Real) or value <= 0:
            errors.append(_bad_value(suffix, value, expected))
    for suffix, minimum in INTEGER_SETTINGS.items():
        value = _setting(suffix)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            errors.append(_bad_value(suffix, value, f"an integer of at least {minimum}"))
    for suffix in OPTIONAL_STRING_SETTINGS:
        value = _setting(suffix)
        if value is not None and (not isinstance(value, str) or not value):
            errors.append(_bad_value(suffix, value, "a non-empty string or None"))
    return errors


def _bad_value(suffix: str, value: object, expected: str) -> Error:
    return Error(
        f"NOTIFY_TASKS_{suffix} should be {expected}, not {value!r}.",
        hint=f"Fix NOTIFY_TASKS_{suffix} in your settings, or remove it to use the default.",
        id=f"{PREFIX}.E011",
    )


def _timeout_order_warnings() -> list[CheckMessage]:
    chain = [
        ("NOTIFY_TASKS_EMAIL_TIMEOUT", _setting("EMAIL_TIMEOUT")),
        ("NOTIFY_TASKS_SOFT_TIME_LIMIT", _setting("SOFT_TIME_LIMIT")),
        ("NOTIFY_TASKS_TIME_LIMIT", _setting("TIME_LIMIT")),
        ("NOTIFY_TASKS_RETRY_BACKOFF_MAX", _setting("RETRY_BACKOFF_MAX")),
        ("the broker's visibility_timeout", _visibility_timeout()),
    ]
    return [
        Warning(
            f"{lower} ({lower_value!r}) should be less than {upper} ({upper_value!r}).",
            hint="Keep SMTP/HTTP timeouts < soft limit < hard limit < retry backoff max < "
            "broker visibility timeout, or tasks are killed mid-send or delivered twice.",
            id=f"{PREFIX}.W001",
        )
        for (lower, lower_value), (upper, upper_value) in zip(chain, chain[1:], strict=False)
        if lower_value >= upper_value
    ]


def _visibility_timeout() -> float:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    return float(options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT))
