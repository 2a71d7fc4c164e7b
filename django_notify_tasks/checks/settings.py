"""Checks of the scalar settings: types and ranges (E011), the timeout order (W001), the
sender address (W002)."""

from __future__ import annotations

from numbers import Real
from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from django_notify_tasks.checks.ids import PREFIX
from django_notify_tasks.conf import app_settings

DEFAULT_VISIBILITY_TIMEOUT = 3600

# setting suffix -> (predicate, what it should be)
NUMBER_SETTINGS = {
    "EMAIL_TIMEOUT": "a positive number of seconds",
    "BROKER_TIMEOUT": "a positive number of seconds",
    "CENTRIFUGO_TIMEOUT": "a positive number of seconds",
    "CENTRIFUGO_HISTORY_TTL": "a positive number of seconds",
    "RETRY_BACKOFF": "a positive number of seconds",
    "RETRY_BACKOFF_MAX": "a positive number of seconds",
    "SOFT_TIME_LIMIT": "a positive number of seconds",
    "TIME_LIMIT": "a positive number of seconds",
    "REDISPATCH_AFTER": "a positive number of seconds",
    "RELAY_INTERVAL": "a positive number of seconds",
}
INTEGER_SETTINGS = {
    "MAX_RETRIES": 0,
    "RETENTION_DAYS": 1,
    "CENTRIFUGO_TOKEN_TTL": 1,
    "EMAIL_CONNECTIONS": 1,
    "MAX_RECIPIENTS": 1,
    "CENTRIFUGO_HISTORY_SIZE": 0,  # 0: no history, so no recovery
}
OPTIONAL_STRING_SETTINGS = ("EMAIL_FROM", "QUEUE", "REPORT_DIR")


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Types and ranges of the scalar settings, and the order of the timeouts."""
    messages = _type_errors()
    if not messages:
        messages += _timeout_order_warnings()
    if not app_settings.email_from_setting and (
        app_settings.default_from_email == "webmaster@localhost"
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
    return getattr(app_settings, suffix.lower())


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
    options = app_settings.broker_transport_options
    return float(options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT))
