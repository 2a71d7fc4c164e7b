"""The host project's Celery app, in the layout the Celery docs describe for Django."""

import os

from celery import Celery

from django_notify_tasks.beat import install

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

app = Celery("demo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
install(app)  # the package's beat schedule: sweeper, user-count report, purge
