"""Where a rule's digest has a ``default``, each user chooses immediate mail or the digest:
through the Python API or the preferences page, and the email channel holds or sends."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from django_notify_tasks.models import Notification
from django_notify_tasks.preferences import (
    digest_choices,
    set_digest,
    wants_digest,
)
from django_notify_tasks.processing import process_notification
from tests.conftest import email_rule, make_user
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db
PAGE = "/notifications/preferences/"


def digest_rules(default: str | None) -> dict[str, Any]:
    digest: dict[str, Any] = {"every": "hourly"}
    if default is not None:
        digest["default"] = default
    rules = email_rule("chat.admin")
    rules["member-joined"]["email"]["digest"] = digest
    rules["member-joined"]["label"] = "New members"
    return rules


def status_of_next_mail(chat: Chat) -> str:
    Membership.objects.create(chat=chat, user=make_user(f"joiner{Notification.objects.count()}"))
    notification = Notification.objects.latest("pk")
    process_notification(notification.pk, "default")
    return str(notification.deliveries.get().status)


def test_the_api_reads_and_sets_the_choice_and_the_channel_honours_it(
    settings: Any, chat: Chat, enqueued: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = digest_rules("immediate")
    alice = chat.admin
    assert wants_digest(alice, "member-joined", "email") is False
    assert status_of_next_mail(chat) == "pending"

    set_digest(alice, "member-joined", "email", True)

    assert wants_digest(alice, "member-joined", "email") is True
    assert [(c.rule, c.channel, c.label, c.digest) for c in digest_choices(alice)] == [
        ("member-joined", "email", "New members", True)
    ]
    assert status_of_next_mail(chat) == "held"
    set_digest(alice, "member-joined", "email", False)
    assert status_of_next_mail(chat) == "pending"


@pytest.mark.parametrize("has_digest", [False, True])
def test_a_rule_that_does_not_let_users_choose_refuses_the_choice(
    settings: Any, chat: Chat, has_digest: bool
) -> None:
    # A digest without "default" is the rule's own say; no digest at all: always at once.
    settings.NOTIFY_TASKS_RULES = digest_rules(None) if has_digest else email_rule("chat.admin")

    with pytest.raises(ValueError, match="does not let users choose"):
        set_digest(chat.admin, "member-joined", "email", False)
    assert digest_choices(chat.admin) == []


def test_the_page_offers_the_choice_and_saves_it_with_csrf(
    settings: Any, chat: Chat, enqueued: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = digest_rules("digest")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(chat.admin)
    page = browser.get(PAGE)
    html = page.content.decode()
    field = "digest:member-joined:email"
    assert f'name="{field}" value="digest" checked' in html
    assert f'name="{field}" value="immediate">' in html
    assert status_of_next_mail(chat) == "held"

    assert browser.post(PAGE, {field: "immediate"}).status_code == 403  # no token
    assert wants_digest(chat.admin, "member-joined", "email") is True
    token = page.cookies["csrftoken"].value
    saved = browser.post(PAGE, {"csrfmiddlewaretoken": token, field: "immediate"})

    assert saved.status_code == 302
    assert wants_digest(chat.admin, "member-joined", "email") is False
    assert status_of_next_mail(chat) == "pending"
    assert f'name="{field}" value="immediate" checked' in browser.get(PAGE).content.decode()


def test_the_choice_is_offered_in_the_users_language(
    settings: Any, client: Client, chat: Chat
) -> None:
    settings.NOTIFY_TASKS_RULES = digest_rules("digest")
    client.force_login(chat.admin)

    with translation.override("fr"):
        html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "Tout de suite ou dans un résumé" in html and "dans mon résumé" in html
