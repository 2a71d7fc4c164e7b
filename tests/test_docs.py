"""The docs name every setting, task, check id and management command the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from celery import Task

import django_notify_tasks
from django_notify_tasks import tasks
from django_notify_tasks.conf import NotifyTasksConf

PACKAGE = Path(django_notify_tasks.__file__).parent
DOCS = Path(__file__).resolve().parent.parent / "docs"


def docs_text(page: str) -> str:
    return (DOCS / page).read_text()


def setting_names() -> list[str]:
    return sorted(f"NOTIFY_TASKS_{name}" for name in NotifyTasksConf._meta.names)


def task_names() -> list[str]:
    return sorted(obj.name for obj in vars(tasks).values() if isinstance(obj, Task))


def check_ids() -> list[str]:
    source = "".join(path.read_text() for path in PACKAGE.rglob("*.py"))
    return sorted(
        set(re.findall(r'"([EW]0\d\d)"', source)) | set(re.findall(r"\.([EW]0\d\d)\b", source))
    )


def command_names() -> list[str]:
    commands = PACKAGE / "management" / "commands"
    return sorted(p.stem for p in commands.glob("*.py") if not p.stem.startswith("_"))


def test_the_code_has_what_these_tests_look_for() -> None:
    assert "NOTIFY_TASKS_RULES" in setting_names()
    assert "django_notify_tasks.deliver_email" in task_names()
    assert {"E001", "W001"} <= set(check_ids())


@pytest.mark.parametrize("name", setting_names())
def test_every_setting_is_documented(name: str) -> None:
    assert name in docs_text("settings.md")


@pytest.mark.parametrize("name", task_names())
def test_every_task_is_documented(name: str) -> None:
    assert name in docs_text("tasks.md")


@pytest.mark.parametrize("check_id", check_ids())
def test_every_check_id_is_documented(check_id: str) -> None:
    assert f"django_notify_tasks.{check_id}" in docs_text("checks.md")


def test_every_command_is_documented() -> None:
    pages = "".join(page.read_text() for page in DOCS.glob("*.md"))
    assert [name for name in command_names() if name not in pages] == []
