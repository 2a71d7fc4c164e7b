"""System checks, one module per area; ``checks.registry`` registers them all.

Ids are ``django_notify_tasks.E0xx`` and ``W0xx`` (``checks.ids``), listed in docs/checks.md.
"""
