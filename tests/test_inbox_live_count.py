"""With realtime on, each new item and each mark-as-read publishes the user's new unread
count (and the item) to their personal channel; the bell tag renders the count as a plain
link, which realtime.js keeps live."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse

from django_notify_tasks.models import InboxItem
from django_notify_tasks.testing import deliver
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


def inapp_rule() -> dict[str, Any]:
    inapp = {"to": ["chat.admin", "user"], "title": "{{ instance.user }} joined"}
    return {"member-joined": {"model": "testapp.Membership", "on": ["created"], "inapp": inapp}}


def test_new_items_publish_each_users_count_and_item(
    settings: Any, centrifugo: Any, chat: Chat, member: Any, notify_tasks_outbox: list[int]
) -> None:
    settings.NOTIFY_TASKS_RULES = inapp_rule()
    InboxItem.objects.create(user=member, rule="r", title="older")
    Membership.objects.create(chat=chat, user=member)

    deliver()

    new = InboxItem.objects.get(user=member, rule="member-joined")
    [to_bob] = centrifugo.publications_to(f"personal:#{member.pk}")
    [to_alice] = centrifugo.publications_to(f"personal:#{chat.admin.pk}")
    assert to_bob.data == {
        "type": "notify_tasks.inbox",
        "unread": 2,
        "item": {"id": new.pk, "title": "bob joined", "body": "", "url": "",
                 "created": new.created.isoformat(), "read": False},
    }  # fmt: skip
    assert to_bob.idempotency_key == f"notify-tasks-inbox-{new.pk}"
    assert to_alice.data["unread"] == 1


def test_a_centrifugo_outage_keeps_the_items(
    settings: Any, centrifugo: Any, chat: Chat, member: Any, notify_tasks_outbox: list[int]
) -> None:
    settings.NOTIFY_TASKS_RULES = inapp_rule()
    centrifugo.stop()
    Membership.objects.create(chat=chat, user=member)

    rows = deliver()

    assert [row.status for row in rows] == ["sent", "sent"]
    assert InboxItem.objects.count() == 2
    centrifugo.start()


def test_mark_read_publishes_the_new_count_after_commit(
    centrifugo: Any, member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first, _ = (InboxItem.objects.create(user=member, rule="r", title=t) for t in "ab")
    client = Client()
    client.force_login(member)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("django_notify_tasks:inbox-read"),
            json.dumps({"ids": [first.pk]}),
            content_type="application/json",
        )
        assert centrifugo.publications == []  # not before the commit
    with django_capture_on_commit_callbacks(execute=True):
        client.post(  # nothing changes: nothing published
            reverse("django_notify_tasks:inbox-read"),
            json.dumps({"ids": [first.pk]}),
            content_type="application/json",
        )

    assert [(p.channel, p.data) for p in centrifugo.publications] == [
        (f"personal:#{member.pk}", {"type": "notify_tasks.inbox", "unread": 1}),
    ]


def render_bell(user: Any, source: str = "{% notify_tasks_inbox_bell %}") -> str:
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load notify_tasks %}" + source)
    return template.render(Context({"request": request}))


def test_the_bell_is_a_link_with_the_count_and_the_endpoints(member: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    InboxItem.objects.create(user=member, rule="r", title="a")
    inbox, read = reverse("django_notify_tasks:inbox"), reverse("django_notify_tasks:inbox-read")

    assert render_bell(member, '{% notify_tasks_inbox_bell href="/inbox/" %}') == (
        f'<a class="notify-tasks-bell" href="/inbox/" data-notify-tasks-inbox="{inbox}" '
        f'data-notify-tasks-read="{read}" data-unread="1">'
        '<span aria-hidden="true">&#128276;</span> '
        '<span class="notify-tasks-unread">1</span></a>'
    )
    InboxItem.objects.update(read_at="2026-01-01T00:00:00Z")
    assert '<span class="notify-tasks-unread" hidden>0</span>' in render_bell(member)
    assert f'href="{inbox}"' in render_bell(member)
    assert render_bell(AnonymousUser()) == ""


NODE_SCRIPT = r"""
const vm = require("vm");
const fs = require("fs");
const badge = {textContent: "1", hidden: false};
const bell = {dataset: {notifyTasksInbox: "/n/inbox/", unread: "1"},
              querySelector: () => badge};
const handlers = {};
const subscription = {on: (name, fn) => { handlers[name] = fn; }, subscribe: () => {}};
const client = {getSubscription: () => null, newSubscription: () => subscription};
const window = {};
const context = {window, document: {querySelectorAll: () => [bell], cookie: ""}};
vm.runInNewContext(fs.readFileSync(process.argv[2], "utf8"), context);
const items = [];
window.NotifyTasksRealtime.inbox.follow(client, {personalChannel: "personal:#1"},
                                        (item) => items.push(item.id));
handlers.publication({data: {type: "notify_tasks.inbox", unread: 5, item: {id: 9}}});
const afterNew = [badge.textContent, badge.hidden, bell.dataset.unread];
handlers.publication({data: {type: "something else", unread: 7}});
handlers.publication({data: {type: "notify_tasks.inbox", unread: 0}});
console.log(JSON.stringify({afterNew, afterRead: [badge.textContent, badge.hidden], items}));
"""


def test_realtime_js_keeps_bells_live_from_inbox_publications(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / (
        "django_notify_tasks/static/django_notify_tasks/realtime.js"
    )
    runner = tmp_path / "run.js"
    runner.write_text(NODE_SCRIPT)

    done = subprocess.run(
        ["node", str(runner), str(script)], capture_output=True, text=True, timeout=30
    )

    assert json.loads(done.stdout) == {
        "afterNew": ["5", False, "5"],
        "afterRead": ["0", True],
        "items": [9],
    }, done.stderr
