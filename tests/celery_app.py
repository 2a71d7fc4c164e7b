"""The Celery app a host project would have; the broker URL comes from the redis fixture."""

from celery import Celery

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
