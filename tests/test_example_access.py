"""The demo shows everyone's deliveries to staff only, and only a chat's admin adds members
(checked in the example project's own Django, on a database of its own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

EXAMPLE_PROJECT = Path(__file__).resolve().parent.parent / "example_project"

CHECK = """
import json
from django.contrib.auth.models import User
from django.test import Client
from chat.models import Chat, Membership

admin = User.objects.create_user("ann", "ann@x.example", "pw")
member = User.objects.create_user("bob", "bob@x.example", "pw")
outsider = User.objects.create_user("eve", "eve@x.example", "pw")
chat = Chat.objects.create(title="Ferns", admin=admin)
Membership.objects.create(chat=chat, user=member)
results = {}
for user in (admin, member):
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    page = client.get(f"/chats/{chat.pk}/")
    results[user.username] = {
        "log": client.get("/deliveries/").status_code,
        "form_shown": b"Add member" in page.content,
        "add": client.post(f"/chats/{chat.pk}/", {"user": outsider.pk}).status_code,
    }
results["eve_added"] = Membership.objects.filter(user=outsider).exists()
print(json.dumps(results))
"""


def run_in_example(tmp_path: Path) -> Any:
    inherited = ("DEMO_", "FLOWER_", "NOTIFY_TASKS_", "CELERY_", "DJANGO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    env.update(DEMO_VAR_DIR=str(tmp_path), CELERY_TASK_ALWAYS_EAGER="")
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--no-input", "-v", "0"], ["shell", "-c", CHECK]):
        result = subprocess.run(
            manage + command, cwd=EXAMPLE_PROJECT, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_only_staff_see_the_log_and_only_the_chat_admin_adds_members(tmp_path: Path) -> None:
    results = run_in_example(tmp_path)
    assert results["bob"] == {"log": 403, "form_shown": False, "add": 403}
    assert results["ann"]["form_shown"] and results["ann"]["add"] == 302
    assert results["ann"]["log"] == 403  # a chat's admin is not staff: still no log
    assert results["eve_added"]  # the admin's add went through
