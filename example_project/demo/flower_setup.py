"""Flower in the demo: its basic-auth credentials, its command, and whether it is ready."""

from __future__ import annotations

import base64
import json
import os
import secrets
import urllib.request

GENERATED_USER = "admin"


def credentials() -> tuple[str, bool]:
    """``FLOWER_BASIC_AUTH`` (``user:password[,user:password...]``), checked, or a generated
    one; and whether it was generated. Raises ValueError naming the variable if malformed."""
    given = os.environ.get("FLOWER_BASIC_AUTH", "")
    if not given:
        return f"{GENERATED_USER}:{secrets.token_urlsafe(16)}", True
    for pair in given.split(","):
        user, colon, password = pair.partition(":")
        if not (user and colon and password):
            raise ValueError(
                "FLOWER_BASIC_AUTH should be user:password (several separated by commas), "
                f"not {given!r}. Unset it and the demo generates one."
            )
    return given, False


def first_login(credential: str) -> tuple[str, str]:
    user, _, password = credential.split(",")[0].partition(":")
    return user, password


def command(python: str, port: int) -> list[str]:
    # Flower reads FLOWER_BASIC_AUTH from its environment: the password stays off the
    # command line (and out of `ps` and the Procfile).
    return [
        python,
        "-m",
        "celery",
        "-A",
        "demo",
        "flower",
        "--address=127.0.0.1",
        f"--port={port}",
    ]


def sees_worker(port: int, credential: str) -> bool:
    """Whether Flower has had events from a worker, so it will list the tasks run from now."""
    token = base64.b64encode(credential.split(",")[0].encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/workers?json=1", headers={"Authorization": f"Basic {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(json.load(response).get("data"))
    except (OSError, ValueError):  # not up yet, or not answering JSON yet
        return False
