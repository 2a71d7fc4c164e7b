"""One test per check id of recipients and preferences (E021-E025, W010)."""

from __future__ import annotations

from typing import Any

import pytest

from django_notify_tasks.checks.people import check_people
from django_notify_tasks.checks.rules import check_rules

EMAIL = {"to": ["chat.admin"], "subject": "Hi", "body": "Body"}


def rules_with(**keys: Any) -> dict[str, Any]:
    return {"r": {"model": "testapp.Membership", "on": ["created"], "email": EMAIL, **keys}}


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


@pytest.mark.parametrize(
    ("keys", "check_id"),
    [
        ({"opt_out": "yes"}, "E021"),
        ({"opt_out": True, "default": "maybe"}, "E022"),
        ({"default": "off"}, "E022"),  # users cannot opt in to a rule they cannot turn off
        ({"opt_out": True, "label": 3}, "E023"),
        ({"opt_out": True, "description": ["x"]}, "E023"),
    ],
)
def test_opt_out_keys_are_validated(settings: Any, keys: dict[str, Any], check_id: str) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(**keys)
    assert ids(check_rules()) == [f"django_notify_tasks.{check_id}"]


def test_valid_opt_out_keys_pass(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(
        opt_out=True, default="off", label="Digest", description="Once a day."
    )
    settings.NOTIFY_TASKS_SITE_URL = "https://chat.example"
    assert check_rules() == [] and check_people() == []


@pytest.mark.parametrize("site", [None, "chat.example", "https://chat.example/app"])
def test_opt_out_rules_need_the_site_url(settings: Any, site: str | None) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(opt_out=True)
    settings.NOTIFY_TASKS_SITE_URL = site
    assert ids(check_people()) == ["django_notify_tasks.E024"]


def test_without_opt_out_rules_the_site_url_is_not_needed(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with()
    assert check_people() == []


def test_opt_out_rules_need_the_package_urls(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(opt_out=True)
    settings.NOTIFY_TASKS_SITE_URL = "https://chat.example"
    settings.ROOT_URLCONF = "tests.support.bare_urls"
    [message] = check_people()
    assert message.id == "django_notify_tasks.E024" and "include" in message.hint


@pytest.mark.parametrize("path", ["no.such.module", "tests.test_checks_recipients.EMAIL"])
def test_the_recipient_language_must_be_a_callable(settings: Any, path: str) -> None:
    settings.NOTIFY_TASKS_RECIPIENT_LANGUAGE = path
    assert ids(check_people()) == ["django_notify_tasks.E025"]


def test_the_base_template_must_load(settings: Any) -> None:
    settings.NOTIFY_TASKS_BASE_TEMPLATE = "nowhere/base.html"
    assert ids(check_people()) == ["django_notify_tasks.W010"]
