"""The demo's "member-joined" emails address people: "Hi <first name>" in each recipient's
language, a link to the preferences page and a one-click unsubscribe link; the preferences
page looks like the demo and offers that rule (checked in the example project's own Django).
The browser tests click them: tests/browser/test_demo_people.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.support.example_project import run_in_example

# The rows the worker would build for carol joining alice's chat, and carol's preferences
# page. Relay mode: the signal writes the notification and nothing is sent.
BUILD = """
import json
from django.contrib.auth.models import User
from django.test import Client
from chat.models import Chat, Membership
from django_notify_tasks.channels import get_channel
from django_notify_tasks.models import Notification
from django_notify_tasks.rules import current_rules

alice = User.objects.create_user("alice", "alice@x.example", "pw", first_name="Alice")
carol = User.objects.create_user("carol", "carol@x.example", "pw", first_name="Carole")
chat = Chat.objects.create(title="Ferns", admin=alice)
membership = Membership.objects.create(chat=chat, user=carol)
[notification] = Notification.objects.filter(rule="member-joined")
context = {"instance": membership, "related": None, "event": "created",
           "rule": notification.rule, "notification": notification}
spec = current_rules().rules["member-joined"].sections["email"]
rows = get_channel("email").build_deliveries(spec, notification, membership, context)
emails = {row.target: {"subject": row.subject, "body": row.body, "html": row.html,
                       "headers": row.options.get("headers", {})} for row in rows}
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(carol)
page = client.get("/notifications/preferences/").content.decode()
print(json.dumps({"emails": emails, "preferences_page": page}))
"""
SITE = "http://127.0.0.1:8123"  # DEMO_WEB_PORT, as run_demo.py sets it
PREFERENCES = f"{SITE}/notifications/preferences/"
UNSUBSCRIBE = re.compile(re.escape(f"{SITE}/notifications/unsubscribe/") + r"[^/\s]+/")


def built(tmp_path: Path) -> Any:
    return run_in_example(tmp_path, BUILD, DEMO_WEB_PORT="8123")


def test_each_recipient_is_greeted_by_first_name_in_their_language(tmp_path: Path) -> None:
    emails = built(tmp_path)["emails"]
    alice, carol = emails["alice@x.example"], emails["carol@x.example"]
    assert alice["subject"] == "Hi Alice: carol joined Ferns"
    assert alice["body"].startswith(
        'Hi Alice,\n\ncarol (carol@x.example) joined "Ferns", a chat you run, at '
    )
    assert carol["subject"] == "Bonjour Carole, bienvenue dans Ferns"  # carol reads French
    assert carol["body"].startswith("Bonjour Carole,\n\nVous êtes maintenant membre de « Ferns ».")
    assert "<p>Bonjour Carole,</p>" in carol["html"]


def test_each_email_links_to_the_preferences_page_and_its_own_unsubscribe_link(
    tmp_path: Path,
) -> None:
    emails = built(tmp_path)["emails"]
    links = {}
    for address, email in emails.items():
        assert f"{PREFERENCES}\n" in email["body"]
        assert f'<a href="{PREFERENCES}">' in email["html"]
        [link] = UNSUBSCRIBE.findall(email["body"])
        assert email["headers"]["List-Unsubscribe"] == f"<{link}>"  # one-click, RFC 8058
        assert f'<a href="{link}">' in email["html"]
        links[address] = link
    assert len(set(links.values())) == 2  # a token per person
    assert "Se désabonner de ces e-mails: " in emails["carol@x.example"]["body"]


def test_the_preferences_page_looks_like_the_demo_and_offers_the_opt_out_rule(
    tmp_path: Path,
) -> None:
    page = built(tmp_path)["preferences_page"]
    assert '<a class="brand" href="/">Chat demo</a>' in page  # NOTIFY_TASKS_BASE_TEMPLATE
    assert '<a href="/notifications/preferences/">Preferences</a>' in page
    assert 'value="member-joined:email" checked' in page
    assert "New members in your chats (email)" in page
    assert "member-joined-live" not in page  # the live feed is no one's to turn off


# seed_demo --history's rows, against the rules the demo's settings have (realtime on).
HISTORY = """
import json
from chat import history
from chat.management.commands.seed_demo import Command
from chat.models import Chat
from django_notify_tasks.models import Delivery
from django_notify_tasks.rules import current_rules

Command().seed()
history.create_history(20, list(Chat.objects.select_related("admin").order_by("pk")))
pairs = Delivery.objects.values_list("notification__rule", "channel").distinct()
rules = current_rules().rules
print(json.dumps({"history": sorted(set(pairs)),
                  "rules": sorted((name, channel) for name, rule in rules.items()
                                  for channel in rule.sections)}))
"""


def test_seeded_history_has_the_rules_and_channels_the_demo_sends(tmp_path: Path) -> None:
    found = run_in_example(tmp_path, HISTORY, NOTIFY_TASKS_CENTRIFUGO_API_KEY="demo-key")
    expected = [
        ["member-joined", "email"],
        ["member-joined", "inapp"],
        ["member-joined-live", "realtime"],
    ]
    assert found["rules"] == expected
    assert found["history"] == expected  # the dashboard shows no pair that cannot happen
