"""System checks of the realtime channel's settings: W005, E013, W003, E014, W012, W013, and
E032 (the realtime extra is not installed)."""

from __future__ import annotations

from django.core.checks import CheckMessage, Error, Warning

from django_notify_tasks.channels.realtime.extra import INSTALL_LINE, missing_libraries
from django_notify_tasks.checks.ids import PREFIX
from django_notify_tasks.conf import app_settings
from django_notify_tasks.rules import current_rules


def check_realtime() -> list[CheckMessage]:
    """Centrifugo settings that realtime rules need, and mistakes the cent client punishes."""
    messages: list[CheckMessage] = []
    url = app_settings.centrifugo_api_url
    parsed = current_rules()
    realtime_rules = sorted(
        name for name, rule in parsed.rules.items() if "realtime" in rule.sections
    )
    if realtime_rules and not url:
        messages.append(
            Warning(
                f"Rules {realtime_rules!r} have a 'realtime' section, but realtime is off "
                "(NOTIFY_TASKS_CENTRIFUGO_API_URL is not set): they will only send email.",
                hint="Set NOTIFY_TASKS_CENTRIFUGO_API_URL where Centrifugo runs, or silence "
                "this warning where it deliberately does not.",
                id=f"{PREFIX}.W005",
            )
        )
    if url and not app_settings.centrifugo_api_key:
        messages.append(
            Error(
                "NOTIFY_TASKS_CENTRIFUGO_API_KEY should be set when "
                "NOTIFY_TASKS_CENTRIFUGO_API_URL is: Centrifugo answers 401 without it.",
                hint="Set it from the environment (e.g. os.environ['CENTRIFUGO_API_KEY']).",
                id=f"{PREFIX}.E013",
            )
        )
    if url and not app_settings.centrifugo_token_secret:
        messages.append(
            Warning(
                "NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET should be set when realtime is enabled.",
                hint="Set it from the environment to Centrifugo's HMAC secret "
                "(token_hmac_secret_key in v5, client.token.hmac_secret_key in v6); without "
                "it the token endpoints answer 503 and browsers cannot connect.",
                id=f"{PREFIX}.W003",
            )
        )
    if isinstance(url, str) and url.endswith("/"):
        messages.append(
            Error(
                f"NOTIFY_TASKS_CENTRIFUGO_API_URL should not end with '/' ({url!r}).",
                hint=f"Use {url.rstrip('/')!r}: with the slash every call is redirected first "
                "(Centrifugo v6 answers 307), and fails with HTTP 405 where it is a 301.",
                id=f"{PREFIX}.E014",
            )
        )
    return messages


MIN_SECRET_BYTES = 32  # HS256: RFC 7518 wants a key at least as long as the hash
MAX_TOKEN_TTL = 86400  # a day: a stolen token is useful for no longer


def check_tokens() -> list[CheckMessage]:
    """W012: a token secret too short to resist guessing; W013: tokens that live too long."""
    messages: list[CheckMessage] = []
    secret = app_settings.centrifugo_token_secret
    if isinstance(secret, str) and secret and len(secret.encode()) < MIN_SECRET_BYTES:
        messages.append(
            Warning(
                f"NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET should be at least {MIN_SECRET_BYTES} "
                f"bytes long, not {len(secret.encode())}: a short HMAC secret can be guessed "
                "from one token, and then tokens for any user can be made.",
                hint='Generate one with python -c "import secrets; print(secrets.token_hex(32))" '
                "and set it in Centrifugo's config too.",
                id=f"{PREFIX}.W012",
            )
        )
    ttl = app_settings.centrifugo_token_ttl
    if isinstance(ttl, int) and ttl > MAX_TOKEN_TTL:
        messages.append(
            Warning(
                f"NOTIFY_TASKS_CENTRIFUGO_TOKEN_TTL should be at most {MAX_TOKEN_TTL} seconds "
                f"(a day), not {ttl}: a token cannot be revoked, so a leaked one works until "
                "it expires.",
                hint="Use a shorter lifetime: centrifuge-js fetches a new token before the "
                "old one expires (the default is 3600).",
                id=f"{PREFIX}.W013",
            )
        )
    return messages


def check_extra() -> list[CheckMessage]:
    """E032: realtime is used (a rule's section, or Centrifugo settings) without cent/PyJWT."""
    missing = missing_libraries()
    if not missing:
        return []
    users = sorted(
        name for name, rule in current_rules().rules.items() if "realtime" in rule.sections
    )
    uses = [f"rules {users!r} have a 'realtime' section"] if users else []
    for setting in ("centrifugo_api_url", "centrifugo_token_secret"):
        if getattr(app_settings, setting):
            uses.append(f"NOTIFY_TASKS_{setting.upper()} is set")
    if not uses:
        return []
    return [
        Error(
            f"{' and '.join(missing)} should be installed: {'; '.join(uses)}, and realtime "
            "needs the realtime extra (email does not).",
            hint=f"Install it: {INSTALL_LINE}",
            id=f"{PREFIX}.E032",
        )
    ]
