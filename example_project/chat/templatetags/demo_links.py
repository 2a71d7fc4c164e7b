"""Absolute links for the demo's emails, which are read outside the site."""

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


@register.simple_tag
def site_url(name: str) -> str:
    """The absolute URL of the page named ``name``, on ``NOTIFY_TASKS_SITE_URL``."""
    return f"{settings.NOTIFY_TASKS_SITE_URL}{reverse(name)}"
