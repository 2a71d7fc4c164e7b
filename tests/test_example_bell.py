"""The demo's bell: "member-joined" stores an inbox item for the chat's admin, the header of
every page shows the unread count (a plain link without JavaScript), and opening the chat's
page marks its items read (checked in the example project's own Django). The browser test
watches the count change live: tests/browser/test_demo_inbox.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.example_project import run_in_example

# carol joins two of alice's chats; the worker's inapp task stores the items (relay mode: the
# signal writes the notifications and nothing else is sent); then alice's pages, in order.
BELL = """
import json
from celery import current_app
from django.contrib.auth.models import User
from django.test import Client
from chat.models import Chat, Membership
from django_notify_tasks import processing
from django_notify_tasks.channels import get_channel
from django_notify_tasks.models import InboxItem, Notification

alice = User.objects.create_user("alice", "alice@x.example", "pw", first_name="Alice")
carol = User.objects.create_user("carol", "carol@x.example", "pw", first_name="Carole")
ferns = Chat.objects.create(title="Ferns", admin=alice)
moss = Chat.objects.create(title="Moss", admin=alice)
Membership.objects.create(chat=ferns, user=carol)
Membership.objects.create(chat=moss, user=carol)
inapp = get_channel("inapp")
for notification in Notification.objects.filter(rule="member-joined").order_by("pk"):
    ids = processing.process_notification(notification.pk, "default")["inapp"]
    current_app.tasks[inapp.task_name].apply(args=inapp.task_args(ids))

def items():
    rows = InboxItem.objects.order_by("pk")
    return [[item.user.username, item.title, item.body, item.url, item.read_at is not None]
            for item in rows]

client = Client(HTTP_HOST="127.0.0.1")
client.force_login(alice)
pages = {"stored": items(), "list": client.get("/").content.decode()}
pages["ferns"] = client.get(f"/chats/{ferns.pk}/").content.decode()
pages["after_ferns"] = items()
pages["list_after"] = client.get("/").content.decode()
client.force_login(carol)
pages["carol"] = client.get(f"/chats/{ferns.pk}/").content.decode()
print(json.dumps(pages))
"""
BELL_LINK = re.compile(
    r'<a class="notify-tasks-bell" href="/notifications/inbox/"[^>]*data-unread="(\d+)">'
    r'<span aria-hidden="true">&#128276;</span> <span class="notify-tasks-unread"( hidden)?>(\d+)<'
)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One run for the module's tests: each reads its own part of what it printed."""
    return run_in_example(tmp_path_factory.mktemp("bell"), BELL)


def bell(page: str) -> tuple[int, bool]:
    """The bell's count and whether its badge shows; exactly one bell, in the header."""
    [(unread, hidden, shown)] = BELL_LINK.findall(page)
    assert unread == shown
    assert page.index("notify-tasks-bell") < page.index("</nav>")
    return int(unread), not hidden


def test_a_member_joining_puts_an_item_in_the_chat_admins_inbox(pages: Any) -> None:
    ferns, moss = pages["stored"]
    hello = "Say hello on the chat's page."
    assert ferns[:4] == ["alice", "carol joined Ferns", hello, "/chats/1/"]  # the chat's page
    assert moss[:4] == ["alice", "carol joined Moss", hello, "/chats/2/"]
    assert [ferns[4], moss[4]] == [False, False]  # unread; carol, who joined, gets none


def test_the_header_bell_counts_unread_items_and_opening_a_chat_marks_its_items_read(
    pages: Any,
) -> None:
    assert bell(pages["list"]) == (2, True)
    assert bell(pages["ferns"]) == (1, True)  # counted after Ferns' item was marked read
    assert [item[4] for item in pages["after_ferns"]] == [True, False]  # Moss' is still unread
    assert bell(pages["list_after"]) == (1, True)
    assert bell(pages["carol"]) == (0, False)  # the badge is hidden at 0


def test_without_centrifugo_the_bell_is_a_plain_link_and_no_script_loads(pages: Any) -> None:
    page = pages["list"]
    assert "chat/bell.js" not in page
    assert 'id="notify-tasks-realtime"' not in page
