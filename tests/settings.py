"""Settings for the package's own tests."""

from __future__ import annotations

import importlib.util
import os
import socket
import tempfile
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "tests-only-not-a-secret"  # noqa: S105
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_notify_tasks",
    "tests.testapp",
]
# django-celery-beat (the "beat" extra) declares Django < 6.1: use it where it is installed.
HAS_CELERY_BEAT = importlib.util.find_spec("django_celery_beat") is not None
if HAS_CELERY_BEAT:
    INSTALLED_APPS.append("django_celery_beat")
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.support.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# NOTIFY_TASKS_TEST_DB picks the database: "sqlite" (the default), "postgresql" or "mariadb",
# a throwaway server that tests/support/databases.py starts on PG_TEST_PORT or
# MARIADB_TEST_PORT for the test session.
TEST_DB = os.environ.get("NOTIFY_TASKS_TEST_DB", "sqlite")
if TEST_DB == "postgresql":
    PG_TEST_PORT = int(os.environ.get("NOTIFY_TASKS_TEST_PG_PORT") or _free_port())
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "notify_tasks",
            "USER": "notify_tasks",
            "HOST": "127.0.0.1",
            "PORT": str(PG_TEST_PORT),
        },
        "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    }
elif TEST_DB == "mariadb":
    MARIADB_TEST_PORT = int(os.environ.get("NOTIFY_TASKS_TEST_MARIADB_PORT") or _free_port())
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": "notify_tasks",
            "USER": "notify_tasks",
            "HOST": "127.0.0.1",
            "PORT": str(MARIADB_TEST_PORT),
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        },
        "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    }
elif TEST_DB == "sqlite":
    # A file database, so a worker thread or process sees what the tests commit.
    _DB_DIR = os.environ.get("NOTIFY_TASKS_TEST_DB_DIR") or tempfile.mkdtemp(
        prefix="notify-tasks-"
    )
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(_DB_DIR, "db.sqlite3"),
            "TEST": {"NAME": os.path.join(_DB_DIR, "test.sqlite3")},
            # Concurrent writers (the workers) need SQLite to take the write lock up front.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        },
        # A second database: rows live where their queryset says, not always in "default".
        "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    }
else:
    raise ValueError(
        f"NOTIFY_TASKS_TEST_DB should be 'sqlite', 'postgresql' or 'mariadb', not {TEST_DB!r}"
    )
# A worker subprocess is pointed at the test database (pytest-django renames it) by name.
if os.environ.get("NOTIFY_TASKS_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["NOTIFY_TASKS_TEST_DB_NAME"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only

if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND and friends
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "notifications@chat.example"


# The redis_server fixture starts a real redis-server on this port (tests/conftest.py): the
# result backend, and the broker unless NOTIFY_TASKS_TEST_BROKER is "rabbitmq", a RabbitMQ
# node that the broker_server fixture starts on RABBITMQ_TEST_PORT.
REDIS_TEST_PORT = int(os.environ.get("NOTIFY_TASKS_TEST_REDIS_PORT") or _free_port())
TEST_BROKER = os.environ.get("NOTIFY_TASKS_TEST_BROKER", "redis")
if TEST_BROKER == "redis":
    CELERY_BROKER_URL = f"redis://127.0.0.1:{REDIS_TEST_PORT}/0"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
elif TEST_BROKER == "rabbitmq":
    RABBITMQ_TEST_PORT = int(os.environ.get("NOTIFY_TASKS_TEST_RABBITMQ_PORT") or _free_port())
    CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{RABBITMQ_TEST_PORT}//"
    CELERY_BROKER_CONNECTION_TIMEOUT = 1
    CELERY_BROKER_TRANSPORT_OPTIONS = {"read_timeout": 2, "write_timeout": 2}
else:
    raise ValueError(
        f"NOTIFY_TASKS_TEST_BROKER should be 'redis' or 'rabbitmq', not {TEST_BROKER!r}"
    )
# Task states for the activity digest's progress and the status endpoint. Only tasks that
# keep results (the digest) touch it; the notification tasks ignore results.
CELERY_RESULT_BACKEND = f"redis://127.0.0.1:{REDIS_TEST_PORT}/1"
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
CELERY_REDIS_SOCKET_TIMEOUT = 2
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With late acks, tasks running when the broker connection drops are redelivered: say so.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

# A `celery beat` subprocess started by tests/test_beat_integration.py retimes a report.
if os.environ.get("NOTIFY_TASKS_TEST_BEAT_SECONDS"):
    NOTIFY_TASKS_BEAT_SCHEDULE = {
        "notify-tasks-user-count-report": {
            "schedule": float(os.environ["NOTIFY_TASKS_TEST_BEAT_SECONDS"])
        },
        "notify-tasks-redispatch-stale": None,
        "notify-tasks-activity-digest": None,
        "notify-tasks-purge-old": None,
    }

NOTIFY_TASKS_RULES = {
    "member-joined": {
        "model": "testapp.Membership",
        "on": ["created"],
        "email": {"to": ["chat.admin.email"], "template": "testapp/email/member_joined"},
    },
}
# Most tests are about what happens after a save publishes; the relay's tests (test_relay.py,
# tests/faults/test_relay.py) switch to the default, "relay". A worker subprocess is told.
NOTIFY_TASKS_DISPATCH = os.environ.get("NOTIFY_TASKS_TEST_DISPATCH", "on_commit")
