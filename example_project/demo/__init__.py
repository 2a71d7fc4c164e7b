# Loaded with Django, so web requests publish through this app and its broker settings.
from demo.celery import app as celery_app

__all__ = ["celery_app"]
