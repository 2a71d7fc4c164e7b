"""Settings of the soak (bench/soak.py): the test settings, a real SMTP backend on
``BENCH_SMTP_PORT``, one rule, and the fault suite's short timeouts, so that the claims of a
killed worker go stale in seconds rather than minutes. The soak process and its worker both
use this module."""

import os

import django

from tests.faults.config import BROKER_OPTIONS, TIMEOUTS
from tests.settings import *  # noqa: F403

globals().update(TIMEOUTS)
CELERY_BROKER_TRANSPORT_OPTIONS = BROKER_OPTIONS
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # what docs/operations.md recommends
NOTIFY_TASKS_REDISPATCH_AFTER = 2.0
NOTIFY_TASKS_DISPATCH = "relay"  # the default, which the tests replace with "on_commit"

SMTP_PORT = int(os.environ.get("BENCH_SMTP_PORT") or 25)
if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND and friends
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": SMTP_PORT},
        }
    }
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST, EMAIL_PORT = "127.0.0.1", SMTP_PORT

NOTIFY_TASKS_RETENTION_DAYS = 1
NOTIFY_TASKS_RULES = {
    "chat-created": {
        "model": "testapp.Chat",
        "on": ["created"],
        "email": {
            "to": ["admin.email"],
            "subject": "New chat: {{ instance.title }}",
            "body": "Hello {{ instance.admin.username }}, your chat {{ instance.title }} is open.",
        },
    },
}
