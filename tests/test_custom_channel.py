"""The webhook channel of docs/channels.md, as written there, through the package: rules
with its section, a real worker, a real HTTP server on loopback, retries and failures."""

from __future__ import annotations

import json
import re
import sys
import threading
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.db import transaction

from django_notify_tasks.channels import all_channels
from django_notify_tasks.models import Delivery
from django_notify_tasks.tasks import send_deliveries
from tests.support.services import wait_for
from tests.testapp.models import Chat, Membership

PAGE = Path(__file__).resolve().parent.parent / "docs" / "channels.md"
FENCE = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)


def docs_block(first_line: str) -> str:
    [source] = [block for block in FENCE.findall(PAGE.read_text()) if block.startswith(first_line)]
    return source


class Hook:
    """An HTTP server that records each POST and answers with the next queued status."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.statuses.pop(0) if hook.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/chat"


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def webhook_channel(settings: Any, monkeypatch: pytest.MonkeyPatch, hook: Hook) -> None:
    """The page's module as ``myproject.webhooks`` and its settings, pointed at ``hook``."""
    package, module = types.ModuleType("myproject"), types.ModuleType("myproject.webhooks")
    package.__path__ = []
    exec(compile(docs_block("# myproject/webhooks.py"), str(PAGE), "exec"), vars(module))  # noqa: S102
    monkeypatch.setitem(sys.modules, "myproject", package)
    monkeypatch.setitem(sys.modules, "myproject.webhooks", module)
    written: dict[str, Any] = {}
    exec(compile(docs_block("# settings.py\nNOTIFY_TASKS_CHANNELS"), str(PAGE), "exec"), written)  # noqa: S102
    rule = written["NOTIFY_TASKS_RULES"]["member-joined"]
    rule["model"] = "testapp.Membership"  # the docs' chat app is the test app
    rule["webhook"]["urls"] = [hook.url]
    settings.NOTIFY_TASKS_CHANNELS = written["NOTIFY_TASKS_CHANNELS"]
    settings.NOTIFY_TASKS_RULES = written["NOTIFY_TASKS_RULES"]
    settings.NOTIFY_TASKS_RETRY_BACKOFF = 0.05


def test_the_docs_channel_is_installed_after_the_built_in_ones(webhook_channel: None) -> None:
    names = [channel.name for channel in all_channels()]
    assert names == ["realtime", "inapp", "email", "webhook"]
    assert [m.id for m in run_checks() if "E0" in m.id] == []


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_member_joining_posts_to_the_webhook_once(
    webhook_channel: None, celery_worker: Any, hook: Hook, chat: Chat, member: Any
) -> None:
    with transaction.atomic():
        Membership.objects.create(chat=chat, user=member)
    delivery = wait_for(lambda: Delivery.objects.filter(status="sent").first())
    assert (delivery.channel, delivery.target, delivery.attempts) == ("webhook", hook.url, 1)
    assert hook.bodies == [
        {"rule": "member-joined", "event": "created", "text": "bob joined Gardening"}
    ]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_5xx_is_retried_by_the_generic_task_and_a_4xx_fails_with_its_reason(
    webhook_channel: None, celery_worker: Any, hook: Hook, chat: Chat, member: Any
) -> None:
    hook.statuses = [503]
    Membership.objects.create(chat=chat, user=member)
    sent = wait_for(lambda: Delivery.objects.filter(status="sent").first())
    assert sent.attempts == 2 and len(hook.bodies) == 2

    hook.statuses = [404]
    Delivery.objects.filter(pk=sent.pk).update(status="pending")
    send_deliveries.delay("webhook", [sent.pk])
    failed = wait_for(lambda: Delivery.objects.filter(status="failed").first())
    assert failed.error == "the webhook answered HTTP 404"
    assert len(hook.bodies) == 3


def test_a_channel_that_cannot_be_loaded_is_check_e020(settings: Any) -> None:
    settings.NOTIFY_TASKS_CHANNELS = [
        "myproject.nowhere.Channel",
        "django_notify_tasks.models.Delivery",
    ]
    messages = [m for m in run_checks() if m.id == "django_notify_tasks.E020"]
    assert len(messages) == 2
    assert "'myproject.nowhere.Channel' cannot be loaded" in messages[0].msg
    assert "should be a Channel subclass with a name" in messages[1].msg
    assert [channel.name for channel in all_channels()] == ["realtime", "inapp", "email"]


def test_a_rule_section_of_a_channel_not_installed_is_an_unknown_key(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "joined": {"model": "testapp.Membership", "on": ["created"], "webhook": {"urls": ["x"]}}
    }
    [message] = [m for m in run_checks() if m.id == "django_notify_tasks.E002"]
    assert "unknown keys ['webhook']" in message.msg
