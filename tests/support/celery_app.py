"""The Celery app a host project would have; the broker URL comes from the redis fixture."""

from celery import Celery

from django_notify_tasks.beat import install

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
install(app)  # the bundled beat schedule, with NOTIFY_TASKS_BEAT_SCHEDULE overrides
