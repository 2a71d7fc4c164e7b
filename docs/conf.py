"""Sphinx configuration for the django-notify-tasks documentation (MyST Markdown, furo)."""

from __future__ import annotations

import sys
from pathlib import Path

# The package's __init__ imports nothing at runtime, so the version is read without Django.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
import django  # noqa: E402
from django.conf import settings  # noqa: E402

from django_notify_tasks import __version__  # noqa: E402

# autodoc imports the package's modules and the reference pages read its models and
# commands: a minimal project, so that the site builds the same on Read the Docs and locally.
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_notify_tasks"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
)
django.setup()

project = "django-notify-tasks"
author = "django-notify-tasks contributors"
copyright = "django-notify-tasks contributors"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = ["myst_parser", "sphinx.ext.autodoc", "reference"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": None}

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"django-notify-tasks {release}"
