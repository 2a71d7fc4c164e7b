"""Past notifications in bulk for ``seed_demo --history``: enough volume that the activity
digest takes seconds and its progress bar moves through the task's real steps.

Rows go in with executemany in large batches (one INSERT statement per table and batch),
spread over the last 30 days, as the demo's rules make them: every other one a
"member-joined" with emails to the chat's admin and to the member and an inbox item for the
admin (three deliveries), the others a "member-joined-live" to the chat's channel and the
admin's personal one (two). They have the final outcomes a live site has: most sent after a
few seconds,
some failed, skipped or cancelled. Signals and the outbox are bypassed and no row is left
unfinished: these rows are history, nothing is ever sent for them.
"""

import random
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from chat import demo_data
from django_notify_tasks.channels.inapp.build import user_target
from django_notify_tasks.models import Delivery, DeliveryContent, Notification
from django_notify_tasks.models.deliveries import content_digest

DAYS = 30
BATCH = 20_000
MARK = "history-"  # object_pk prefix: seed_demo --history adds them once
# Final outcomes only: a pending or retrying row would be swept up by the running demo's
# worker and really sent (thousands of emails to alice).
OUTCOMES = [("sent", 91), ("failed", 5), ("skipped", 3), ("cancelled", 1)]
ERRORS = {
    "email": [
        "SMTPRecipientsRefused: {{'{target}': (550, b'5.1.1 mailbox unavailable')}}",
        "SMTPDataError: (554, b'5.7.1 message rejected as spam')",
        "gave up after 9 attempts: TimeoutError: timed out",
    ],
    "realtime": [
        "CentNetworkError: Network error: HTTPConnectionPool(host='127.0.0.1', port=8800): "
        "Max retries exceeded with url: /api/broadcast (Caused by NewConnectionError("
        "'Failed to establish a new connection: [Errno 111] Connection refused'))",
        "Centrifugo error 102: unknown channel",
    ],
    "inapp": ["OperationalError: database is locked"],
}


def has_history():
    return Notification.objects.filter(object_pk__startswith=MARK).exists()


def create_history(count, chats, seed=21):
    """``count`` notifications of the demo's rules about ``chats``, and their deliveries."""
    rng = random.Random(seed)
    now = timezone.now()
    statuses, weights = zip(*OUTCOMES, strict=True)
    first = (Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    rows = 0
    with transaction.atomic():
        email_content = joined_content()
        for start in range(0, count, BATCH):
            notifications, deliveries = [], []
            for n in range(first + start, first + min(start + BATCH, count)):
                chat = chats[n % len(chats)]
                at = now - timedelta(seconds=rng.randrange(DAYS * 86400))
                rule, targets = rule_and_targets(rng, n, chat)
                notifications.append(notification_row(n, rule, at))
                for channel, target in targets:
                    status = rng.choices(statuses, weights)[0]
                    content = email_content if channel == "email" else None
                    deliveries.append(delivery_row(rng, n, channel, target, status, at, content))
            insert(Notification, NOTIFICATION_COLUMNS, notifications)
            insert(Delivery, DELIVERY_COLUMNS, deliveries)
            rows += len(deliveries)
    return rows


NOTIFICATION_COLUMNS = ["id", "rule", "event", "model", "object_pk", "related_model",
                        "related_pk", "snapshot", "status", "error", "dispatch_count",
                        "created_at", "processed_at", "claim_token", "attempts"]  # fmt: skip
DELIVERY_COLUMNS = ["notification_id", "channel", "target", "status", "content_id",
                    "options", "message_id", "attempts", "error", "created_at",
                    "updated_at", "claim_token", "sent_at"]  # fmt: skip
JOINED = {"subject": "Someone joined your chat", "body": "", "html": ""}


def joined_content():
    """The id of the one content every seeded email shares (as a real fan-out would)."""
    content, _ = DeliveryContent.objects.get_or_create(
        digest=content_digest(JOINED), defaults=JOINED
    )
    return content.pk


def rule_and_targets(rng, n, chat):
    """The rule of past notification ``n`` and the channel and target of each of its rows."""
    if n % 2:
        return "member-joined-live", (
            ("realtime", f"chats:{chat.pk}"),
            ("realtime", f"personal:#{chat.admin_id}"),
        )
    member = rng.choice([name for name in demo_data.USERNAMES if name != chat.admin.username])
    member_email = f"{member}@{demo_data.EMAIL_DOMAIN}"
    return "member-joined", (
        ("email", chat.admin.email),
        ("email", member_email),
        ("inapp", user_target(chat.admin_id)),
    )


def notification_row(n, rule, at):
    to_db = connection.ops.adapt_datetimefield_value
    return (n, rule, "created", "chat.membership", f"{MARK}{n}", "", "", "{}",
            "processed", "", 0, to_db(at), to_db(at), "", 1)  # fmt: skip


def delivery_row(rng, n, channel, target, status, at, content_id):
    to_db = connection.ops.adapt_datetimefield_value
    sent_at = at + timedelta(seconds=rng.lognormvariate(0.3, 0.9)) if status == "sent" else None
    error = ""
    if status == "failed":
        error = rng.choice(ERRORS[channel]).format(target=target)
    attempts = {"sent": 1, "failed": 3}.get(status, 0)
    # updated_at: when the row was written (now), so that the dashboard's rollup sees the
    # hours it lands in as changed and counts it (django_notify_tasks/dashboard/rollup.py).
    return (n, channel, target, status, content_id, "{}", "", attempts, error, to_db(at),
            to_db(timezone.now()), "", to_db(sent_at) if sent_at else None)  # fmt: skip


def insert(model, columns, rows):
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
