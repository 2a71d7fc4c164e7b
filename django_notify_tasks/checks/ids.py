"""The prefix of every check id: ``django_notify_tasks.E001`` (docs/checks.md lists them all)."""

PREFIX = "django_notify_tasks"
