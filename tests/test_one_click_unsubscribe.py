"""RFC 8058 one-click unsubscribe: the headers on opt-out rules' mail only, a POST that
turns the preference off without login or CSRF token, a GET that changes nothing, and
tokens that cannot be forged or reused after the address changes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from django_notify_tasks.models import Preference
from django_notify_tasks.preferences import is_enabled
from django_notify_tasks.preferences.tokens import make_token
from tests.conftest import email_rule
from tests.support.services import wait_for
from tests.testapp.models import Chat, Membership

SITE = "https://chat.example"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def opt_out(settings: Any) -> None:
    settings.NOTIFY_TASKS_SITE_URL = SITE
    settings.NOTIFY_TASKS_RULES = email_rule(
        "chat.admin", body="Stop: {{ unsubscribe_url }}", opt_out=True
    )


def url(user: Any) -> str:
    return f"/notifications/unsubscribe/{make_token(user, 'member-joined', 'email')}/"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rule_opts_out", [True, False])
def test_list_unsubscribe_headers_only_on_opt_out_rules(
    settings: Any,
    celery_worker: Any,
    smtp_server: Any,
    chat: Chat,
    member: Any,
    rule_opts_out: bool,
) -> None:
    settings.NOTIFY_TASKS_SITE_URL = SITE
    settings.NOTIFY_TASKS_RULES = email_rule(
        "chat.admin", body="Stop: {{ unsubscribe_url }}.", opt_out=rule_opts_out
    )
    with transaction.atomic():
        Membership.objects.create(chat=chat, user=member)

    [received] = wait_for(lambda: smtp_server.messages, message="the message")
    header = received.message["List-Unsubscribe"]  # long: folded, as mail headers are
    header = header and re.sub(r"\r?\n[ \t]", " ", header).strip()
    body = received.message.get_payload(decode=True).decode()
    if not rule_opts_out:
        assert (header, received.message["List-Unsubscribe-Post"]) == (None, None)
        assert body.strip() == "Stop: ."
        return
    assert header == f"<{SITE}{url(chat.admin)}>"
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body.strip() == f"Stop: {SITE}{url(chat.admin)}."


@pytest.mark.django_db
def test_one_click_post_turns_the_preference_off_without_login_or_csrf(
    opt_out: None, chat: Chat
) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(url(chat.admin), ONE_CLICK)

    assert response.status_code == 200
    assert is_enabled(chat.admin, "member-joined", "email") is False


@pytest.mark.django_db
def test_a_get_shows_a_button_and_changes_nothing(
    opt_out: None, client: Client, chat: Chat
) -> None:
    response = client.get(url(chat.admin))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<form method="post">' in html and 'value="One-Click"' in html
    assert not Preference.objects.exists()


@pytest.mark.django_db
def test_a_post_without_the_one_click_body_changes_nothing(
    opt_out: None, client: Client, chat: Chat
) -> None:
    assert client.post(url(chat.admin), {}).status_code == 400
    assert not Preference.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["flip-a-character", "other-user", "foreign-salt"])
def test_a_tampered_or_foreign_token_answers_400_and_changes_nothing(
    opt_out: None, client: Client, chat: Chat, member: Any, tamper: str
) -> None:
    from django.core import signing

    token = make_token(chat.admin, "member-joined", "email")
    if tamper == "flip-a-character":
        token = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    elif tamper == "other-user":  # a valid payload for bob, with alice's signature
        forged = make_token(member, "member-joined", "email")
        token = forged.rsplit(":", 1)[0] + ":" + token.rsplit(":", 1)[1]
    else:
        payload = {"u": str(chat.admin.pk), "r": "member-joined", "c": "email"}
        token = signing.Signer(salt="another.salt").sign_object(payload)

    response = client.post(f"/notifications/unsubscribe/{token}/", ONE_CLICK)

    assert response.status_code == 400
    assert not Preference.objects.exists()


@pytest.mark.django_db
def test_a_token_stops_working_when_the_address_changes(
    opt_out: None, client: Client, chat: Chat
) -> None:
    old_link = url(chat.admin)
    chat.admin.email = "alice@new.example"
    chat.admin.save()

    assert client.post(old_link, ONE_CLICK).status_code == 400
    assert client.post(url(chat.admin), ONE_CLICK).status_code == 200


def test_a_long_list_unsubscribe_url_is_not_encoded_when_the_message_is_rendered() -> None:
    import email.policy

    import django

    from django_notify_tasks.channels.email.backend import NotificationMessage

    url = "https://chat.example/notifications/unsubscribe/" + "x" * 120 + "/"
    message = NotificationMessage("s", "b", "a@x.example", ["b@x.example"])
    message.extra_headers["List-Unsubscribe"] = f"<{url}>"
    rendered = (
        message.message(policy=email.policy.SMTP)  # type: ignore[call-arg]
        if django.VERSION >= (6, 0)  # the SMTP backend's policy; 5.2 renders with compat32
        else message.message()
    ).as_bytes()
    # Read back as a receiving server does (folding undone, encoded words left as they are).
    header = email.message_from_bytes(rendered)["List-Unsubscribe"]
    assert " ".join(header.split()) == f"<{url}>"
