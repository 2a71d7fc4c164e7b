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


PUBLIC_API = {
    "django_notify_tasks": ["notify", "notify_bulk"],
    "django_notify_tasks.testing": ["capture_dispatch", "deliver", "notify_tasks_outbox"],
    "django_notify_tasks.beat": ["install", "beat_schedule"],
    "django_notify_tasks.channels": ["Channel"],
    "django_notify_tasks.preferences": [
        "is_enabled",
        "set_enabled",
        "user_preferences",
        "wants_digest",
        "set_digest",
        "digest_choices",
    ],  # fmt: skip
    "django_notify_tasks.task_status": ["status_url"],
}


def test_the_public_api_lists_what_the_modules_export() -> None:
    import django_notify_tasks.preferences
    import django_notify_tasks.testing

    assert set(django_notify_tasks.__all__) - {"__version__"} == {"notify", "notify_bulk"}
    assert set(django_notify_tasks.testing.__all__) == set(
        PUBLIC_API["django_notify_tasks.testing"]
    )
    data_classes = {"PreferenceState", "DigestChoice"}
    exported = set(django_notify_tasks.preferences.__all__) - data_classes - {"skip_opted_out"}
    assert exported == set(PUBLIC_API["django_notify_tasks.preferences"])


@pytest.mark.parametrize(
    "name", [f"{module}.{name}" for module, names in PUBLIC_API.items() for name in names]
)
def test_every_public_name_is_in_the_api_reference(name: str) -> None:
    assert re.search(rf"^\.\. auto\w+:: {re.escape(name)}$", docs_text("api.md"), re.M)


def test_the_readme_links_work_on_pypi() -> None:
    # PyPI renders the README without the repository: a relative link is a dead link there.
    readme = (DOCS.parent / "README.md").read_text()
    assert re.findall(r"\]\((?!https?://)([^)]+)\)", readme) == []
