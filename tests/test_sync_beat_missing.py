"""Without django-celery-beat, notify_tasks_sync_beat says which extra to install.

Runs in every env: where the package is installed, the import is blocked the way a missing
package fails; in the Django 6.1 envs it is really absent.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line


@pytest.fixture
def without_celery_beat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "django_celery_beat", None)  # import fails, as if absent


@pytest.mark.usefixtures("without_celery_beat")
def test_the_error_names_the_extra() -> None:
    with pytest.raises(CommandError, match=r"pip install 'django-notify-tasks\[beat\]'"):
        call_command("notify_tasks_sync_beat")


@pytest.mark.usefixtures("without_celery_beat")
def test_manage_py_exits_non_zero_with_the_message(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "notify_tasks_sync_beat", "--dry-run"])
    assert exit_.value.code == 1
    assert "django-celery-beat is not installed" in capsys.readouterr().err
