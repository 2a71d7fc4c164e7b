"""Templates that name ``recipient`` or ``unsubscribe_url`` are rendered for each person, in
their language; the others are rendered once per notification, as before."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from django_notify_tasks.channels.email import content
from django_notify_tasks.channels.email.spec import EmailSpec
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import process_notification
from tests.conftest import email_rule, make_user
from tests.support.services import wait_for
from tests.testapp.models import Chat, Membership


def spec(body: str, subject: str = "Hi") -> EmailSpec:
    return EmailSpec(to=("chat.admin.email",), subject=subject, body=body)


@pytest.mark.parametrize(
    "body",
    [
        "Hi {{ recipient.user.first_name }}",
        "{% if recipient.user %}Hi{% endif %}",
        "{% for x in items %}{% if x %}{{ unsubscribe_url }}{% endif %}{% endfor %}",
        "{% load i18n %}{% blocktranslate %}Hi {{ recipient }}{% endblocktranslate %}",
        "{% with who=recipient.address %}{{ who }}{% endwith %}",
        '{% include "testapp/email/uses_recipient.txt" %}',
        "{% include name %}",  # chosen at render time: counted as a use
    ],
)
def test_templates_that_name_the_recipient_are_detected(body: str) -> None:
    assert content.uses_recipient(spec(body)) is True


@pytest.mark.parametrize(
    "body",
    [
        "{{ instance.user }} joined {{ instance.chat }}",
        "The recipient of this message is the chat's admin.",  # prose, not a variable
        '{% include "testapp/email/member_joined.txt" %}',
        "{% if recipients_count %}{{ recipientless }}{% endif %}",
    ],
)
def test_templates_that_do_not_are_rendered_once(body: str) -> None:
    assert content.uses_recipient(spec(body)) is False


@pytest.fixture
def renders(monkeypatch: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    real = content.render_email

    def counting(spec: EmailSpec, context: dict[str, Any]) -> Any:
        calls.append(context)
        return real(spec, context)

    monkeypatch.setattr("django_notify_tasks.channels.email.build.render_email", counting)
    return calls


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "expected"), [("{{ instance.user }}", 1), ("{{ recipient }}", 3)]
)
def test_renderings_per_notification(
    settings: Any, chat: Chat, renders: list[Any], body: str, expected: int, enqueued: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule(
        lambda m: [make_user("u1"), make_user("u2"), make_user("u3")], body=body
    )
    Membership.objects.create(chat=chat, user=make_user("bob"))

    process_notification(Notification.objects.get().pk, "default")

    assert len(renders) == expected
    assert Delivery.objects.filter(status="pending").count() == 3


@pytest.mark.django_db
def test_a_template_that_does_not_parse_fails_one_row_for_all_recipients(
    settings: Any, chat: Chat, enqueued: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin.email", subject="{% if %}broken")
    Membership.objects.create(chat=chat, user=make_user("bob"))

    process_notification(Notification.objects.get().pk, "default")

    [(target, status, error)] = Delivery.objects.values_list("target", "status", "error")
    assert (target, status) == ("(all recipients)", "failed")
    assert error.startswith("template error: TemplateSyntaxError: ")


@pytest.mark.django_db
def test_a_rendering_that_fails_for_one_recipient_is_that_recipients_failed_row(
    settings: Any, chat: Chat, enqueued: Any
) -> None:
    body = '{{ recipient.address }}{% include "testapp/email/no_such_template.txt" %}'
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin.email", body=body)
    Membership.objects.create(chat=chat, user=make_user("bob"))

    process_notification(Notification.objects.get().pk, "default")

    [(target, status, error)] = Delivery.objects.values_list("target", "status", "error")
    assert (target, status) == (chat.admin.email, "failed")
    assert "TemplateDoesNotExist" in error


def language_of(user: Any) -> str | None:
    return {"alice": "fr"}.get(user.username)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_each_person_gets_their_own_subject_and_body_in_their_language(
    settings: Any, celery_worker: Any, smtp_server: Any, chat: Chat
) -> None:
    settings.LANGUAGE_CODE = "en"
    settings.NOTIFY_TASKS_RECIPIENT_LANGUAGE = "tests.test_per_recipient_rendering.language_of"
    bob = make_user("bob")
    bob.first_name = "Bob"
    bob.save()
    chat.admin.first_name = "Alice"
    chat.admin.save()
    settings.NOTIFY_TASKS_RULES = email_rule(
        "chat.admin",
        "user",
        subject="Hi {{ recipient.user.first_name }}",
        body="{% load i18n %}{% get_current_language as lang %}"
        "{{ recipient.address }} reads {{ lang }}: {% translate 'skipped' %}",
    )
    with transaction.atomic():
        Membership.objects.create(chat=chat, user=bob)

    wait_for(lambda: len(smtp_server.messages) == 2, message="two messages")
    received = {m.envelope_to[0]: m for m in smtp_server.messages}
    alice, bob_mail = received["alice@chat.example"], received["bob@chat.example"]
    assert (alice.subject, bob_mail.subject) == ("Hi Alice", "Hi Bob")
    assert alice.message.get_payload(decode=True).decode().strip() == (
        "alice@chat.example reads fr: ignoré"
    )
    assert bob_mail.message.get_payload(decode=True).decode().strip() == (
        "bob@chat.example reads en: skipped"
    )
