"""Settings shared by the fault tests and their worker subprocess, which must agree on them.

The test process records notifications (its rules decide which); the worker processes them
(its rules say how). Both get ``fault_settings()``; each test then narrows the test process's
rules to the ones it is about, with ``rules(...)``.
"""

from __future__ import annotations

from typing import Any

import django

from tests.settings import TEST_BROKER

QUEUE = "notify-faults"  # the worker consumes only this; the in-thread worker never sees it
CENTRIFUGO_KEY = "faults-api-key"
SMTP_SIZE_LIMIT = 512 * 1024  # the fault SMTP server refuses bigger messages with 552
KILL_RECIPIENTS = [f"reader{n:02}@chat.example" for n in range(30)]
ONE_MEGABYTE = 1024 * 1024

# Keep the timeout order the package checks (W001): SMTP/HTTP timeouts < soft limit < hard
# limit < retry backoff max < visibility timeout. Short, so that claims left by a killed
# process go stale within seconds.
TIMEOUTS = {
    "NOTIFY_TASKS_EMAIL_TIMEOUT": 1,
    "NOTIFY_TASKS_CENTRIFUGO_TIMEOUT": 0.5,
    "NOTIFY_TASKS_SOFT_TIME_LIMIT": 5,
    "NOTIFY_TASKS_TIME_LIMIT": 6,
    "NOTIFY_TASKS_RETRY_BACKOFF": 0.05,
    "NOTIFY_TASKS_RETRY_BACKOFF_MAX": 8,
    "NOTIFY_TASKS_REDISPATCH_AFTER": 0.5,
}
BROKER_SOCKET_TIMEOUT = 2  # seconds: a read from, or a write to, a broker that went silent
BROKER_OPTIONS: dict[str, Any] = {
    "redis": {
        "socket_connect_timeout": 1,
        "socket_timeout": BROKER_SOCKET_TIMEOUT,
        "visibility_timeout": 10,
        # Redis restores unacknowledged messages of a dead worker after the visibility
        # timeout; look every second rather than kombu's default of every 100 s.
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    },
    # RabbitMQ requeues a consumer's unacknowledged messages when its connection closes:
    # there is no visibility timeout. py-amqp's socket timeouts are read and write.
    "rabbitmq": {"read_timeout": BROKER_SOCKET_TIMEOUT, "write_timeout": BROKER_SOCKET_TIMEOUT},
}[TEST_BROKER]


def _chat_rule(**sections: Any) -> dict[str, Any]:
    return {"model": "testapp.Chat", "on": ["created"], **sections}


def _admin_email(**extra: Any) -> dict[str, Any]:
    return {"to": ["admin.email"], "subject": "{{ instance.title }}", "body": ".", **extra}


RULES: dict[str, dict[str, Any]] = {
    "chat-created": _chat_rule(email=_admin_email()),
    "chat-created-to-30": _chat_rule(
        email={"to": KILL_RECIPIENTS, "subject": "{{ instance.title }}", "body": "."}
    ),
    "chat-created-both": _chat_rule(
        email=_admin_email(), realtime={"channels": ["chats:{instance.pk}"]}
    ),
    # Bad input, one rule each, recorded by the same save.
    "bad-address": _chat_rule(email=_admin_email(to=["not an address@chat.example"])),
    "bad-template": _chat_rule(email=_admin_email(subject="{% if %}broken")),
    # A path ending in a method is called without arguments: User.email_user() needs two.
    "raising-path": _chat_rule(email=_admin_email(to=["admin.email_user"])),
    "unserializable-data": _chat_rule(
        realtime={"channels": ["chats:{instance.pk}"], "data": "tests.faults.config.with_object"}
    ),
    "huge-email": _chat_rule(email=_admin_email(body="x" * ONE_MEGABYTE)),
    "huge-realtime": _chat_rule(
        realtime={"channels": ["chats:{instance.pk}"], "data": "tests.faults.config.one_megabyte"}
    ),
}


def with_object(instance: Any, event: str) -> dict[str, Any]:
    """Realtime data that JSON cannot encode."""
    return {"chat": instance.pk, "when": object()}


def one_megabyte(instance: Any, event: str) -> dict[str, Any]:
    """Realtime data of about 1 MB."""
    return {"chat": instance.pk, "blob": "x" * ONE_MEGABYTE}


def rules(*names: str) -> dict[str, dict[str, Any]]:
    """The named rules, for the test process (the worker knows all of them)."""
    return {name: RULES[name] for name in names}


def fault_settings(smtp_port: int, centrifugo_url: str) -> dict[str, Any]:
    """Every setting the fault tests change, for the test process and the worker alike."""
    values: dict[str, Any] = {
        **TIMEOUTS,
        "NOTIFY_TASKS_QUEUE": QUEUE,
        "NOTIFY_TASKS_RULES": RULES,
        "NOTIFY_TASKS_CENTRIFUGO_API_URL": centrifugo_url,
        "NOTIFY_TASKS_CENTRIFUGO_API_KEY": CENTRIFUGO_KEY,
        "CELERY_BROKER_TRANSPORT_OPTIONS": BROKER_OPTIONS,
    }
    backend = "django.core.mail.backends.smtp.EmailBackend"
    if django.VERSION >= (6, 1):
        options = {"host": "127.0.0.1", "port": smtp_port}  # the package adds the timeout
        values["MAILERS"] = {"default": {"BACKEND": backend, "OPTIONS": options}}
    else:
        values.update(EMAIL_BACKEND=backend, EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp_port)
    return values
