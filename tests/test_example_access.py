"""The demo shows everyone's deliveries to staff only, and only a chat's admin adds members
(checked in the example project's own Django, on a database of its own)."""

from __future__ import annotations

from pathlib import Path

from tests.support.example_project import run_in_example

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


def test_only_staff_see_the_log_and_only_the_chat_admin_adds_members(tmp_path: Path) -> None:
    results = run_in_example(tmp_path, CHECK)
    assert results["bob"] == {"log": 403, "form_shown": False, "add": 403}
    assert results["ann"]["form_shown"] and results["ann"]["add"] == 302
    assert results["ann"]["log"] == 403  # a chat's admin is not staff: still no log
    assert results["eve_added"]  # the admin's add went through
