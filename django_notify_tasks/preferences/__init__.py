"""Users' say in what they get: preferences per opt-out rule and channel, the page that
lists them, and one-click unsubscribe links (docs/recipients.md)."""

from django_notify_tasks.preferences.api import (
    PreferenceState,
    is_enabled,
    set_enabled,
    skip_opted_out,
    user_preferences,
)
from django_notify_tasks.preferences.digest_choices import (
    DigestChoice,
    digest_choices,
    set_digest,
    wants_digest,
)

__all__ = [
    "DigestChoice",
    "PreferenceState",
    "digest_choices",
    "is_enabled",
    "set_digest",
    "set_enabled",
    "skip_opted_out",
    "user_preferences",
    "wants_digest",
]
