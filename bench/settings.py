"""Settings of the email benchmarks (bench/email_throughput.py, bench/worker_memory.py).

The test settings (database, Redis port and the rest from the environment, as the fault
suite's worker gets them), plus a real SMTP backend on ``BENCH_SMTP_PORT``, the two peers
compared (django-celery-email, django-post-office: installed in the bench environment only,
``make bench``), the naive task, and one rule for ours. The bench process and its worker
subprocess both use this module, so they agree on every setting.
"""

import os

import django

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "djcelery_email", "post_office"]

SMTP_HOST, SMTP_PORT = "127.0.0.1", int(os.environ.get("BENCH_SMTP_PORT") or 25)
if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND and friends
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": SMTP_HOST, "port": SMTP_PORT, "timeout": 10},
        }
    }
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST, EMAIL_PORT, EMAIL_TIMEOUT = SMTP_HOST, SMTP_PORT, 10

# PostgreSQL runs with fsync off (tests/support/postgres.py); SQLite's counterpart is WAL's usual
# synchronous=NORMAL (no fsync at each commit), for every case alike.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["OPTIONS"]["init_command"] += "PRAGMA synchronous=NORMAL;"  # noqa: F405

# Django's default is 0: every task opens a database connection of its own (Celery's Django
# fixup closes it after the task). ``--conn-max-age`` measures persistent connections.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("BENCH_CONN_MAX_AGE") or 0)  # noqa: F405

# What docs/operations.md tells users to run with (the package's tasks ack late). The same
# for every case: one worker command line and one set of worker settings for all of them.
CELERY_WORKER_PREFETCH_MULTIPLIER = int(os.environ.get("BENCH_PREFETCH") or 1)
CELERY_IMPORTS = ["bench.naive"]  # the naive case's task

# django-celery-email: its task sends through the SMTP backend (its default), 10 per chunk.
CELERY_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# django-post-office through Celery as its README sets it up: mail.send() queues a row and,
# after commit, send_queued_mail.delay(); the task sends the queue in batches of 100 over 5
# threads, each thread with one connection. One lock file per run, so runs never share it.
POST_OFFICE = {
    "CELERY_ENABLED": True,
    "LOCK_FILE_NAME": os.environ.get("BENCH_POST_OFFICE_LOCK", "bench-post-office"),
}

# Ours: one rule, one recipient per notification, every NOTIFY_TASKS_* setting at its default
# but NOTIFY_TASKS_EMAIL_CONNECTIONS where --email-connections sets it.
if os.environ.get("BENCH_EMAIL_CONNECTIONS"):
    NOTIFY_TASKS_EMAIL_CONNECTIONS = int(os.environ["BENCH_EMAIL_CONNECTIONS"])
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

# How saves reach the broker: the package's default, "relay" (a relay in the worker), unless
# BENCH_DISPATCH says "on_commit" (bench/first_message.py runs a worker of each).
NOTIFY_TASKS_DISPATCH = os.environ.get("BENCH_DISPATCH") or "relay"
