"""Email works without the ``realtime`` extra (cent, PyJWT); realtime without it says what to
install: check E032, a failed delivery and a 503 token answer with the install line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.urls import reverse

from django_notify_tasks.channels.realtime import publish
from django_notify_tasks.channels.realtime.checks import check_extra
from django_notify_tasks.channels.realtime.extra import INSTALL_LINE, missing_libraries
from django_notify_tasks.exceptions import PermanentDeliveryError
from tests.conftest import make_user

REALTIME_RULE = {
    "model": "testapp.Membership",
    "on": ["created"],
    "realtime": {"channels": ["chats:{instance.chat_id}"]},
}


@pytest.fixture
def without_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import cent`` and ``import jwt`` fail, as in an email-only install."""
    for module in ("cent", "cent.exceptions", "jwt"):
        monkeypatch.setitem(sys.modules, module, None)
    assert missing_libraries() == ["PyJWT", "cent"]


def test_the_extra_is_installed_in_the_test_env() -> None:
    assert missing_libraries() == []
    assert check_extra() == []


@pytest.mark.usefixtures("without_extra")
def test_e032_a_realtime_rule_without_the_extra(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = {**settings.NOTIFY_TASKS_RULES, "live": REALTIME_RULE}
    [error] = check_extra()
    assert error.id == "django_notify_tasks.E032"
    assert "PyJWT and cent should be installed: rules ['live']" in error.msg
    assert error.hint == f"Install it: {INSTALL_LINE}"
    assert INSTALL_LINE == 'pip install "django-notify-tasks[realtime]"'


@pytest.mark.usefixtures("without_extra")
def test_e032_centrifugo_settings_without_the_extra(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:8000/api"
    [error] = check_extra()
    assert "NOTIFY_TASKS_CENTRIFUGO_API_URL is set" in error.msg


@pytest.mark.usefixtures("without_extra")
def test_email_only_projects_need_no_extra(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = None
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = None
    assert check_extra() == []


@pytest.mark.usefixtures("without_extra")
def test_a_publish_without_cent_fails_for_good_with_the_install_line(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:8000/api"
    with pytest.raises(PermanentDeliveryError, match=r"cent is not installed.*\[realtime\]"):
        publish.publish("chats:1", {"n": 1})
    assert "ValueError: x" in str(publish.classify(ValueError("x")))


@pytest.mark.django_db
@pytest.mark.usefixtures("without_extra")
def test_the_token_view_without_pyjwt_answers_503_with_the_install_line(
    settings: Any, client: Any
) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = "s" * 32
    client.force_login(make_user("bob"))
    response = client.get(reverse("django_notify_tasks:connection-token"))
    assert response.status_code == 503
    assert INSTALL_LINE in response.json()["detail"]


HIDE_AND_IMPORT_ALL = """
import importlib, importlib.abc, json, pkgutil, sys

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in {"cent", "jwt"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Hide())
import django
django.setup()
import django_notify_tasks
from django.core import checks
prefix = "django_notify_tasks."
names = [m.name for m in pkgutil.walk_packages(django_notify_tasks.__path__, prefix)]
for name in names:
    importlib.import_module(name)
print(json.dumps({
    "modules": len(names),
    "ids": sorted(m.id for m in checks.run_checks() if m.id.startswith("django_notify_tasks")),
    "leaked": sorted(m for m in sys.modules if m.partition(".")[0] in {"cent", "jwt"}),
}))
"""


def test_every_module_imports_without_the_extra() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", HIDE_AND_IMPORT_ALL],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["modules"] > 80
    assert outcome["leaked"] == []
    assert "django_notify_tasks.E032" not in outcome["ids"]  # the test settings: email only
