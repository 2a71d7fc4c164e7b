"""The example project's "member-joined-live" rule, as its own settings load it, pushes to the
chat's channel and to the chat admin's personal channel (the page: tests/browser)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

EXAMPLE_PROJECT = Path(__file__).resolve().parent.parent / "example_project"

# Run inside the example's own Django (demo.settings, app chat), with unsaved instances: the
# rule's channels and data are rendered by the package's code, no database or broker needed.
RENDER = """
import json
from django.contrib.auth.models import User
from django.utils import timezone
from chat.models import Chat, Membership
from django_notify_tasks.models import Notification
from django_notify_tasks.channels import get_channel
from django_notify_tasks.rules import current_rules

rule = current_rules().rules["member-joined-live"]
admin, member = User(pk=3, username="ann"), User(pk=5, username="bob")
membership = Membership(pk=9, chat=Chat(pk=7, title="Ferns", admin=admin), user=member)
notification = Notification(pk=11, rule=rule.name, event="created", created_at=timezone.now())
context = {"instance": membership, "related": None, "event": "created",
           "rule": rule.name, "notification": notification}
realtime = get_channel("realtime")
spec = rule.sections["realtime"]
deliveries = realtime.build_deliveries(spec, notification, membership, context)
print(json.dumps([[d.target, d.status, d.error, json.loads(d.body or "null")]
                  for d in deliveries]))
"""


def render_member_joined(tmp_path: Path) -> Any:
    inherited = ("DEMO_", "FLOWER_", "NOTIFY_TASKS_", "CELERY_", "DJANGO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    env.update(DEMO_VAR_DIR=str(tmp_path), NOTIFY_TASKS_CENTRIFUGO_API_KEY="demo-key")
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", RENDER],
        cwd=EXAMPLE_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_member_joined_pushes_to_the_chat_and_the_admins_personal_channel(
    tmp_path: Path,
) -> None:
    payload = {"text": "bob joined Ferns", "chat": 7, "user": "bob"}
    assert render_member_joined(tmp_path) == [
        ["chats:7", "pending", "", payload],
        ["personal:#3", "pending", "", payload],
    ]
