"""Whether the ``realtime`` extra is installed: ``cent`` to publish, PyJWT to sign tokens.

Email needs neither, so they are optional (``pip install "django-notify-tasks[realtime]"``);
every module that uses them imports them where it calls them, and check E032 says what to
install when a project turns realtime on without them.
"""

from __future__ import annotations

import importlib.util

from django_notify_tasks.exceptions import NotifyTasksError

INSTALL_LINE = 'pip install "django-notify-tasks[realtime]"'
LIBRARIES = {"cent": "cent", "jwt": "PyJWT"}  # module: distribution


class RealtimeExtraMissing(NotifyTasksError, ImportError):
    """A realtime feature was used without ``cent`` or PyJWT installed."""


def missing_libraries() -> list[str]:
    """The distributions of the extra that cannot be imported, e.g. ``["PyJWT", "cent"]``."""
    return sorted(dist for module, dist in LIBRARIES.items() if not _importable(module))


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses it; a None in sys.modules
        return False


def require(module: str) -> None:
    """Raise ``RealtimeExtraMissing`` naming the install line if ``module`` is missing."""
    if not _importable(module):
        raise RealtimeExtraMissing(
            f"{LIBRARIES[module]} is not installed, and realtime needs it: {INSTALL_LINE}"
        )
