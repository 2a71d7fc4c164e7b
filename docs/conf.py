"""Sphinx configuration for the django-notify-tasks documentation (MyST Markdown, furo)."""

from __future__ import annotations

import sys
from pathlib import Path

# The package's __init__ imports nothing at runtime, so the version is read without Django.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from django_notify_tasks import __version__  # noqa: E402

project = "django-notify-tasks"
author = "django-notify-tasks contributors"
copyright = "django-notify-tasks contributors"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"django-notify-tasks {release}"
