"""Settings for the chat demo. Secrets and hosts come from the environment or ``.env``."""

import os
from pathlib import Path

import django

from demo.env import load_env

BASE_DIR = Path(__file__).resolve().parent.parent
load_env(BASE_DIR / ".env")


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    return env(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = env("SECRET_KEY", "django-insecure-demo-only-set-SECRET_KEY-in-production")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_notify_tasks",
    "chat",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chat.context_processors.demo_links",
                "chat.context_processors.live_bell",
            ]
        },
    }
]

# The database, the SMTP sink's maildir and the reports live here: example_project/var/
# (git-ignored) unless DEMO_VAR_DIR says otherwise. SQLite cannot create its directory.
VAR_DIR = Path(env("DEMO_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# smtp_sink.py (started by run_demo.py) stores every message it receives in this maildir;
# the inbox page (/inbox/) reads it.
DEMO_MAILDIR = VAR_DIR / "mail"
# The navigation links to Flower when run_demo.py started it (it sets DEMO_FLOWER_URL).
DEMO_FLOWER_URL = env("DEMO_FLOWER_URL", "")
# user_count_report (every 5 minutes, from the bundled beat schedule) writes here.
NOTIFY_TASKS_REPORT_DIR = str(VAR_DIR / "reports")
(VAR_DIR / "reports").mkdir(exist_ok=True)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        # The web server and the worker write at the same time: take the write lock up
        # front and wait for it, instead of failing with "database is locked".
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
# The browser build of centrifuge-js, from the npm package "centrifuge" (package.json here;
# run_demo.py runs npm to install it), served as static/centrifuge/centrifuge.js.
CENTRIFUGE_JS_DIR = BASE_DIR / "node_modules" / "centrifuge" / "dist"
STATICFILES_DIRS = [("centrifuge", CENTRIFUGE_JS_DIR)] if CENTRIFUGE_JS_DIR.is_dir() else []
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat-list"
LOGOUT_REDIRECT_URL = "login"

# run_demo.py starts an SMTP sink on DEMO_SMTP_PORT; EMAIL_HOST/EMAIL_PORT point elsewhere.
SMTP = {
    "host": env("EMAIL_HOST", "127.0.0.1"),
    "port": int(env("EMAIL_PORT", env("DEMO_SMTP_PORT", "1025"))),
    "timeout": 10,
}
if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND and EMAIL_HOST there
    MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": SMTP}
    }
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST, EMAIL_PORT, EMAIL_TIMEOUT = SMTP["host"], SMTP["port"], SMTP["timeout"]
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Chat demo <notifications@chat.example>")
# Who gets the daily activity digest (beat runs it; the inbox page shows it).
ADMINS = [("Chat demo admin", env("DEMO_ADMIN_EMAIL", "alice@chat.example"))]

# run_demo.py starts Redis on DEMO_REDIS_PORT unless CELERY_BROKER_URL is given.
CELERY_BROKER_URL = env(
    "CELERY_BROKER_URL", f"redis://127.0.0.1:{env('DEMO_REDIS_PORT', '6390')}/0"
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The report page follows a task's progress, which needs a result backend: the same Redis.
# The package's notification tasks ignore their results, so only the report lands there.
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3
CELERY_REDIS_SOCKET_TIMEOUT = 5
# Without socket timeouts a request that publishes to a dead broker hangs; tasks must also
# finish (retries included) well within the visibility timeout or Redis redelivers them.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 3,
    "socket_timeout": 5,
    "visibility_timeout": 3600,
}
# The package's tasks acknowledge late and are redelivered after a lost connection: cancel the
# running copy rather than let it finish beside the redelivered one.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

# Realtime: the worker publishes to Centrifugo, pages connect to it with centrifuge-js.
# run_demo.py generates the key and the secret for each run (and starts Centrifugo when its
# binary is on PATH). Without a key, e.g. a bare "manage.py runserver", realtime is off and
# the rule below only sends email.
CENTRIFUGO_PORT = env("DEMO_CENTRIFUGO_PORT", "8800")
NOTIFY_TASKS_CENTRIFUGO_API_KEY = env("NOTIFY_TASKS_CENTRIFUGO_API_KEY", "") or None
NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = env("NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET", "") or None
REALTIME = NOTIFY_TASKS_CENTRIFUGO_API_KEY is not None
NOTIFY_TASKS_CENTRIFUGO_API_URL = (
    env("NOTIFY_TASKS_CENTRIFUGO_API_URL", f"http://127.0.0.1:{CENTRIFUGO_PORT}/api")
    if REALTIME
    else None
)
NOTIFY_TASKS_CENTRIFUGO_WS_URL = (
    env(
        "NOTIFY_TASKS_CENTRIFUGO_WS_URL",
        f"ws://127.0.0.1:{CENTRIFUGO_PORT}/connection/websocket",
    )
    if REALTIME
    else None
)
# Who may get a subscription token for chats:<id> (personal:#<pk> needs none).
NOTIFY_TASKS_CENTRIFUGO_CHANNEL_AUTHORIZER = "chat.notifications.may_subscribe"

# People: each email says "Hi <first name>" in the recipient's language, links to the
# preferences page, and carries a one-click unsubscribe link (docs/recipients.md).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
NOTIFY_TASKS_RECIPIENT_LANGUAGE = "chat.notifications.recipient_language"
# Where the links in the emails point: the site run_demo.py serves (DEMO_WEB_PORT).
SITE_PORT = env("DEMO_WEB_PORT", "8000")
NOTIFY_TASKS_SITE_URL = env("DEMO_SITE_URL", f"http://127.0.0.1:{SITE_PORT}")
# The preferences and unsubscribe pages look like the rest of the site.
NOTIFY_TASKS_BASE_TEMPLATE = "chat/base.html"

NOTIFY_TASKS_RULES = {
    # Opt-out: the chat's admin and the member who joined may each turn it off, on the
    # preferences page or with the unsubscribe link in the email.
    "member-joined": {
        "model": "chat.Membership",
        "on": ["created"],
        "opt_out": True,
        "label": "New members in your chats",
        "description": (
            "An email when someone joins a chat you run, and one when you join; and an item "
            "in your inbox (the bell) for chats you run."
        ),
        "email": {"to": ["chat.admin", "user"], "template": "chat/email/member_joined"},
        # The bell in the header: the chat page marks its items read (chat.views.chats).
        "inapp": {
            "to": ["chat.admin"],
            "title": "{{ instance.user }} joined {{ instance.chat }}",
            "body": "Say hello on the chat's page.",
            "url": "{% url 'chat-detail' instance.chat_id %}",
        },
    },
    # The chat page's live feed: a rule of its own, since a broadcast to a chat's channel
    # reaches no one in particular and is not something a preference could turn off.
    "member-joined-live": {
        "model": "chat.Membership",
        "on": ["created"],
        "realtime": {
            "channels": ["chats:{instance.chat_id}", "personal:#{instance.chat.admin_id}"],
            "data": "chat.notifications.member_payload",
        },
    },
}
if not REALTIME:
    del NOTIFY_TASKS_RULES["member-joined-live"]
