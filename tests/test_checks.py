"""One test per check id: each names the problem and the setting."""

from __future__ import annotations

from typing import Any

import django
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_notify_tasks.channels.email.checks import check_mailer
from django_notify_tasks.channels.realtime.checks import check_realtime
from django_notify_tasks.checks.rules import check_rules
from django_notify_tasks.checks.settings import check_settings

VALID_EMAIL = {"to": ["chat.admin.email"], "subject": "Hi", "body": "Body"}


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def rules_with(**rule: Any) -> dict[str, Any]:
    return {"r": {"model": "testapp.Membership", "on": ["created"], "email": VALID_EMAIL, **rule}}


def test_valid_rules_and_default_settings_pass(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = {
        **rules_with(),
        "m2m": {
            "model": "testapp.Chat.members",
            "on": ["m2m_added"],
            "email": {**VALID_EMAIL, "to": ["admin.email", "members.email"]},
        },
        "files": {
            "model": "testapp.Membership",
            "on": ["created", "updated"],
            "fields": ["role"],
            "email": {"to": ["chat.admin.email"], "template": "testapp/email/member_joined"},
        },
    }
    assert check_rules() == []
    assert check_settings() == []
    assert check_realtime() == []


def test_e001_rules_not_a_dict(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = ["member-joined"]
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E001"
    assert "['member-joined']" in error.msg


@pytest.mark.parametrize(
    "rule",
    [{"modle": "x"}, {"email": {"to": ["a@b.c"], "subject": "s", "body": "b", "bc": []}}],
)
def test_e002_unknown_keys(settings: Any, rule: dict[str, Any]) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(**rule)
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E002"
    assert "unknown keys" in error.msg
    assert "Use only" in error.hint


@pytest.mark.parametrize("model", ["testapp.Nope", "nolabel", None])
def test_e003_unknown_model(settings: Any, model: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(model=model)
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E003"
    assert repr(model) in error.msg


@pytest.mark.parametrize(
    ("model", "on"),
    [
        ("testapp.Membership", ["saved"]),
        ("testapp.Membership", ["m2m_added"]),
        ("testapp.Chat.members", ["created"]),
        ("testapp.Membership", []),
    ],
)
def test_e004_bad_event(settings: Any, model: str, on: list[str]) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(model=model, on=on)
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E004"


@pytest.mark.parametrize(
    ("on", "fields", "text"),
    [
        (["updated"], ["nope"], "'nope'"),
        (["created"], ["role"], "only applies"),
        (["updated"], "role", "list"),
    ],
)
def test_e005_bad_fields(settings: Any, on: list[str], fields: Any, text: str) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(on=on, fields=fields)
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E005"
    assert text in error.msg


def test_e006_not_a_many_to_many_field(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(model="testapp.Chat.admin", on=["m2m_added"])
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E006"
    assert "'admin'" in error.msg


@pytest.mark.parametrize(
    "to", [["chat.owner.email"], ["chat.admin.mail"], ["chat.membership.user.email"], [], [42]]
)
def test_e007_unresolvable_recipient(settings: Any, to: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(email={**VALID_EMAIL, "to": to})
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E007"


@pytest.mark.parametrize(
    "email",
    [
        {"to": ["a@b.c"], "template": "testapp/email/missing"},
        {"to": ["a@b.c"], "subject": "{% if %}", "body": "b"},
        {"to": ["a@b.c"], "subject": "only a subject"},
        {"to": ["a@b.c"], "template": "x", "subject": "s", "body": "b"},
        {"to": ["a@b.c"], "template": "testapp/email/member_joined", "html": "<p>ignored</p>"},
    ],
)
def test_e008_bad_templates(settings: Any, email: dict[str, Any]) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(email=email)
    errors = check_rules()
    assert ids(errors) and set(ids(errors)) == {"django_notify_tasks.E008"}


@pytest.mark.parametrize("condition", ["tests.nowhere.condition", "tests.settings.SECRET_KEY", 42])
def test_e009_bad_callable(settings: Any, condition: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(condition=condition)
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E009"


def test_e010_rule_sends_nothing(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = {"r": {"model": "testapp.Membership", "on": ["created"]}}
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E010"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EMAIL_TIMEOUT", 0),
        ("TIME_LIMIT", "90"),
        ("MAX_RETRIES", -1),
        ("RETENTION_DAYS", True),
        ("EMAIL_CONNECTIONS", 0),
        ("QUEUE", ""),
        ("CENTRIFUGO_HISTORY_SIZE", -1),
        ("CENTRIFUGO_HISTORY_SIZE", 10.5),
        ("CENTRIFUGO_HISTORY_TTL", 0),
    ],
)
def test_e011_bad_setting_value(settings: Any, name: str, value: Any) -> None:
    setattr(settings, f"NOTIFY_TASKS_{name}", value)
    [error] = check_settings()
    assert error.id == "django_notify_tasks.E011"
    assert f"NOTIFY_TASKS_{name} should be" in error.msg
    assert repr(value) in error.msg


REALTIME = {"channels": ["chats:{instance.chat_id}"]}


@pytest.mark.parametrize(
    "channels",
    [
        [],
        ["chats:{instance.chat_id"],
        ["chats:{instance.chat_id!r}"],
        ["x:{self.pk}"],
        ["c:{instance.nope}"],
    ],
)
def test_e012_bad_channel_templates(settings: Any, channels: list[str]) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(realtime={"channels": channels})
    [error] = check_rules()
    assert error.id == "django_notify_tasks.E012"


def test_e013_api_url_without_key(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(realtime=REALTIME)
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:8000/api"
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = None
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = "secret"
    [error] = check_realtime()
    assert error.id == "django_notify_tasks.E013"
    assert "NOTIFY_TASKS_CENTRIFUGO_API_KEY should be set" in error.msg


def test_w005_realtime_rules_while_realtime_is_off(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(realtime=REALTIME)
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = None
    [warning] = check_realtime()
    assert warning.id == "django_notify_tasks.W005"
    assert "['r']" in warning.msg


def test_e014_trailing_slash_on_api_url(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:8000/api/"
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = "key"
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = "secret"
    [error] = check_realtime()
    assert error.id == "django_notify_tasks.E014"
    assert "'http://127.0.0.1:8000/api'" in error.hint


def test_w003_realtime_without_token_secret(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:8000/api"
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = "key"
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = None
    [warning] = check_realtime()
    assert warning.id == "django_notify_tasks.W003"


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        (
            {"NOTIFY_TASKS_EMAIL_TIMEOUT": 60},
            "NOTIFY_TASKS_EMAIL_TIMEOUT (60) should be less than NOTIFY_TASKS_SOFT_TIME_LIMIT",
        ),
        (
            {"NOTIFY_TASKS_TIME_LIMIT": 30},
            "NOTIFY_TASKS_SOFT_TIME_LIMIT (60) should be less than NOTIFY_TASKS_TIME_LIMIT",
        ),
        (
            {"CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 300}},
            "visibility_timeout (300.0)",
        ),
    ],
)
def test_w001_timeout_order(settings: Any, overrides: dict[str, Any], text: str) -> None:
    for name, value in overrides.items():
        setattr(settings, name, value)
    [warning] = check_settings()
    assert warning.id == "django_notify_tasks.W001"
    assert text in warning.msg


def test_w002_default_from_address(settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "webmaster@localhost"
    settings.NOTIFY_TASKS_EMAIL_FROM = None
    [warning] = check_settings()
    assert warning.id == "django_notify_tasks.W002"


def test_manage_py_check_reports_rule_errors_without_a_traceback(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(model="testapp.Nope")
    with pytest.raises(SystemCheckError, match=r"django_notify_tasks\.E003"):
        call_command("check")


def test_e017_mailer_alias_missing_from_mailers(settings: Any) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.NOTIFY_TASKS_MAILER = "notifications"
    expected = ["django_notify_tasks.E017"] if django.VERSION >= (6, 1) else []
    assert [m.id for m in check_mailer()] == expected


def test_a_short_token_secret_is_warning_w030(settings: Any) -> None:
    from django_notify_tasks.channels.realtime.checks import check_tokens

    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = "s" * 31
    [warning] = check_tokens()
    assert warning.id == "django_notify_tasks.W012" and "not 31" in warning.msg
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = "s" * 32
    assert check_tokens() == []


def test_tokens_living_longer_than_a_day_are_warning_w031(settings: Any) -> None:
    from django_notify_tasks.channels.realtime.checks import check_tokens

    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = None
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_TTL = 86401
    [warning] = check_tokens()
    assert warning.id == "django_notify_tasks.W013"
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_TTL = 86400
    assert check_tokens() == []
