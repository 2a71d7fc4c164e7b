"""Hooks named in ``demo/settings.py``: the language each person reads their mail in, the
payload of "member-joined-live" and who may subscribe to a chat's channel."""

import re
from typing import Any

from django.db.models import Q

from chat import demo_data
from chat.models import Chat, Membership

CHAT_CHANNEL = re.compile(r"chats:([0-9]{1,18})")


def recipient_language(user: Any) -> str | None:
    """The language ``user`` reads the demo's emails in; None: ``LANGUAGE_CODE`` (English)."""
    return demo_data.LANGUAGES.get(user.username)


def member_payload(membership: Membership, event: str) -> dict[str, Any]:
    """What browsers subscribed to ``chats:<id>`` and the admin's ``personal:#<id>`` get."""
    user = membership.user.username
    return {
        "text": f"{user} joined {membership.chat.title}",
        "chat": membership.chat_id,
        "user": user,
    }


def may_subscribe(user: Any, channel: str) -> bool:
    """``chats:<id>`` is for the members and the admin of that chat; nothing else is."""
    match = CHAT_CHANNEL.fullmatch(channel)
    if match is None:
        return False
    chats = Chat.objects.filter(pk=int(match.group(1)))
    return chats.filter(Q(admin=user) | Q(members=user)).exists()
