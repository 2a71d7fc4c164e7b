"""The demo stack as `make demo` starts it: Flower with basic auth shows the package's tasks,
with ids only in their arguments. (The demo_stack fixture also checks that Ctrl-C stops
every process it started.)"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from base64 import b64encode
from typing import Any

import pytest

from tests.support.services import wait_for

pytestmark = pytest.mark.browser

EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# A processing run sends its notification's first batch itself: the seed data needs no other.
SEEDED = {"django_notify_tasks.process_notification"}
NOTIFICATION_TASKS = SEEDED | {
    "django_notify_tasks.deliver_email",
    "django_notify_tasks.publish_realtime",
}


def get(url: str, login: tuple[str, str] | None = None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if login is not None:
        headers["Authorization"] = "Basic " + b64encode(":".join(login).encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, None


IDS = r"\[\d+(, \d+)*\]"
# An id or a list of ids; a batched process_notification also names the rest of its group.
IDS_ONLY = rf"\((\d+|{IDS}),\) \{{('also': {IDS})?\}}"


def succeeded(tasks: dict[str, Any]) -> set[str]:
    return {task["name"] for task in tasks.values() if task["state"] == "SUCCESS"}


def test_flower_lists_the_seeded_notification_tasks_with_ids_only(demo_stack: Any) -> None:
    url = f"{demo_stack.flower}/api/tasks"
    login = demo_stack.flower_login()

    def seeded_tasks() -> dict[str, Any] | None:
        status, tasks = get(url, login)
        assert status == 200
        return tasks if succeeded(tasks) >= SEEDED else None

    tasks = wait_for(seeded_tasks, 30, "Flower to list the seed data's tasks as SUCCESS")
    assert all(task["name"].startswith("django_notify_tasks.") for task in tasks.values())
    for task in tasks.values():
        arguments = f"{task['args']} {task['kwargs']}"
        assert not EMAIL_ADDRESS.search(arguments), task
        if task["name"] in NOTIFICATION_TASKS:  # ids, and nothing else
            assert re.fullmatch(IDS_ONLY, arguments), task


def test_flower_api_refuses_requests_without_the_login(demo_stack: Any) -> None:
    url = f"{demo_stack.flower}/api/tasks"
    user, password = demo_stack.flower_login()
    assert get(url)[0] == 401
    assert get(url, (user, password + "x"))[0] == 401
    assert get(f"{demo_stack.flower}/api/workers")[0] == 401
    assert get(url, (user, password))[0] == 200
