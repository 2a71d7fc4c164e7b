"""The channel interface: every step the worker asks of one way of reaching people.

A channel owns one section of a rule (``rule[channel.name]``), turns it into Delivery rows
when a notification is processed, and sends claimed batches of those rows. The worker-side
modules (``processing``, ``sending``) call only these methods, so they never branch on a
channel's name; email and realtime are two subclasses, and a project adds its own by dotted
path in ``NOTIFY_TASKS_CHANNELS`` (docs/channels.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from celery.exceptions import SoftTimeLimitExceeded
from django.core.checks import CheckMessage
from django.db import models

from django_notify_tasks.exceptions import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from django_notify_tasks.models import Delivery, Notification


def known_names(*parts: frozenset[str] | None) -> frozenset[str] | None:
    """The union of what several parts read; None if any part cannot tell."""
    if any(part is None for part in parts):
        return None
    return frozenset().union(*parts)  # type: ignore[arg-type]


class OnSent(Protocol):
    """Records rows sent: one, or several at once (recorded in one statement)."""

    def __call__(self, *sent: Delivery) -> None: ...


OnError = Callable[[Delivery, Exception], None]
MAX_TARGET_LENGTH = 255  # Delivery.target
GENERIC_TASK = "django_notify_tasks.send_deliveries"


class Channel:
    """Base class of every channel; subclasses set ``name`` and override the steps."""

    #: The rule section it reads and the ``Delivery.channel`` value of its rows.
    name: ClassVar[str]
    #: The Celery task that sends a batch of its rows. The generic task takes the channel's
    #: name as its first argument (``task_args``); the built-in channels have tasks of their own.
    task_name: ClassVar[str] = GENERIC_TASK
    #: Rows one task run claims and sends.
    batch_size: ClassVar[int] = 50
    #: The keys its rule section may have (None: any; the section is a dict either way).
    section_keys: ClassVar[frozenset[str] | None] = None
    #: A run fills its batch with other notifications' waiting rows (one connection, many).
    coalesce: ClassVar[bool] = False
    #: Its rows are for users (a ``Delivery.user``), so a user's preference can turn it off;
    #: False: the preferences page offers no switch for it.
    reaches_users: ClassVar[bool] = True

    # Rules, on the request side and in checks ------------------------------------------------

    def parse_section(
        self, rule: str, section: Mapping[str, Any], model: type[models.Model]
    ) -> Any:
        """The rule's section as this channel keeps it; raise ``RuleError`` naming a problem."""
        return section

    def instance_names(self, spec: Any) -> frozenset[str] | None:
        """The attributes of the instance the section reads (paths, templates): the outbox
        snapshot of a rule without a ``snapshot`` key keeps only those. None (the default)
        when the channel cannot tell; the snapshot then keeps every field."""
        return None

    def section_problems(self, rule: str, spec: Any) -> list[str]:
        """Problems ``manage.py check`` reports that parsing cannot see (a missing template)."""
        return []

    def check(self) -> list[CheckMessage]:
        """System check messages about this channel's settings."""
        return []

    # Processing, in the worker ----------------------------------------------------------------

    def enabled(self) -> bool:
        """False when settings turn the channel off: rules then make no rows for it."""
        return True

    def prefetch(self, spec: Any, instances: list[models.Model]) -> None:
        """Load, for a batch of instances at once, what ``build_deliveries`` will walk."""

    def build_deliveries(
        self,
        spec: Any,
        notification: Notification,
        instance: models.Model,
        context: dict[str, Any],
    ) -> list[Delivery]:
        """Unsaved rows, one per target; a problem becomes a failed row saying why."""
        raise NotImplementedError(f"{type(self).__name__} should define build_deliveries()")

    def hold(self, rows: Sequence[Delivery], using: str) -> None:
        """Before a batch's rows are written: mark rows that wait (email: for a digest)."""

    def send_digests(self, using: str) -> list[int]:
        """Make the digests that are due (email); the ids of their rows, to send."""
        return []

    # Sending, in the worker -------------------------------------------------------------------

    def send(self, deliveries: Sequence[Delivery], on_sent: OnSent, on_error: OnError) -> None:
        """Send claimed rows and report each one's result; by default one at a time."""
        for delivery in deliveries:
            try:
                self.send_one(delivery)
            except SoftTimeLimitExceeded:
                raise
            except Exception as exc:
                on_error(delivery, self.classify(exc))
            else:
                on_sent(delivery)

    def send_one(self, delivery: Delivery) -> None:
        """Send one row; raise on failure (``classify`` decides whether it is retried)."""
        raise NotImplementedError(f"{type(self).__name__} should define send() or send_one()")

    def classify(self, exc: Exception) -> DeliveryError:
        """Transient errors are retried with backoff, permanent ones recorded at once."""
        if isinstance(exc, DeliveryError):
            return exc
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, OSError | TimeoutError):
            return TransientDeliveryError(reason)
        return PermanentDeliveryError(reason)

    def sent_fields(self, delivery: Delivery) -> dict[str, str]:
        """Extra fields recorded on a sent row (email: its Message-ID)."""
        return {}

    def task_args(self, delivery_ids: Sequence[int]) -> tuple[Any, ...]:
        """The positional arguments of ``task_name`` for these rows."""
        if self.task_name == GENERIC_TASK:
            return (self.name, list(delivery_ids))
        return (list(delivery_ids),)

    # Helpers for build_deliveries --------------------------------------------------------------

    def delivery(
        self,
        notification: Notification,
        target: str,
        *,
        user: Any = None,
        options: dict[str, Any] | None = None,
        **content: str,
    ) -> Delivery:
        """A pending row of this channel; ``content``: ``subject``, ``body``, ``html``;
        ``user``: the person behind ``target``; ``options``: what the sender adds."""
        return Delivery(
            notification=notification,
            channel=self.name,
            target=target,
            user=user,
            options=options or {},
            **content,
        )

    def failed(self, notification: Notification, target: str, reason: str) -> Delivery:
        """A row that failed before sending: the recipient or the content could not be made."""
        return Delivery(
            notification=notification,
            channel=self.name,
            target=target[:MAX_TARGET_LENGTH],
            status=Delivery.Status.FAILED,
            error=reason,
        )

    def skipped(
        self, notification: Notification, target: str, reason: str, user: Any = None
    ) -> Delivery:
        """A row not sent on purpose (an inactive user, one without an address, an opt-out)."""
        return Delivery(
            notification=notification,
            channel=self.name,
            target=target[:MAX_TARGET_LENGTH],
            user=user,
            status=Delivery.Status.SKIPPED,
            error=reason,
        )
