"""The outbox relay: a thread in each Celery worker's main process that hands pending outbox
rows to the broker, so that a save with ``NOTIFY_TASKS_DISPATCH = "relay"`` publishes nothing.

One relay per database is active at a time (``relay_leases``); the others stand by. The
active one wakes on PostgreSQL at each commit that wrote outbox rows (``LISTEN``, the
``NOTIFY`` went with the INSERT) and elsewhere every ``NOTIFY_TASKS_RELAY_INTERVAL``
seconds, and publishes ``process_notification`` for each row not handed over yet. A database
or broker outage ends no relay: it logs, backs off and tries again; what it could not hand
over stays pending, and the sweeper re-sends it should the relay stay away.

The worker starts its relays as a bootstep added when the worker initializes
(``worker_init``, from the app it passes): the package never imports a Celery app.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import bootsteps
from django.db import connections, router
from django.db.models import QuerySet
from django.utils import timezone

from django_notify_tasks import dispatch
from django_notify_tasks.conf import app_settings
from django_notify_tasks.models import Notification
from django_notify_tasks.notification_claims import NOTIFICATIONS_PER_RUN
from django_notify_tasks.relay_leases import AdvisoryLock, LeaseRow, lease_for

logger = logging.getLogger(__name__)

RELAY_BATCH = 500  # rows one query takes; a fuller backlog is handed over in a loop
STANDBY_SECONDS = 1.0  # how often a standing-by relay tries the lease
MAX_BACKOFF = 5.0  # seconds between tries while the database or the broker is away
WAKE_CHANNEL = "notify_tasks_outbox"  # the NOTIFY channel outbox.py sends on


def relay_aliases() -> list[str]:
    """The database the relay serves: where outbox rows are written by default."""
    return [router.db_for_write(Notification)]


def hand_off(using: str, limit: int = RELAY_BATCH) -> tuple[int, bool]:
    """Queue ``process_notification`` for pending rows not handed over yet, oldest first, one
    task per processing run's batch, and mark them (``dispatched_at``); how many, and whether
    the broker took all of them."""
    pending = not_handed_over(using)
    ids = list(pending.values_list("pk", flat=True)[:limit])
    handed = dispatch.enqueue_runs(ids, using, per_run=NOTIFICATIONS_PER_RUN)
    if handed:
        # After the publish, not before: a relay that dies in between sends a row twice
        # (a processing run claims it once) rather than leaving it to the sweeper.
        pending.filter(pk__in=handed).update(dispatched_at=timezone.now())
    return len(handed), len(handed) == len(ids)


def not_handed_over(using: str) -> QuerySet[Notification]:
    """Pending rows no relay or sweeper has handed over yet, oldest first: read through the
    ``(dispatched_at, status)`` index, never the whole backlog of pending rows."""
    rows = Notification.objects.using(using)
    return rows.filter(status=Notification.Status.PENDING, dispatched_at__isnull=True).order_by(
        "pk"
    )


class Relay(threading.Thread):
    """The relay of one database, in a thread of its own (and a connection of its own)."""

    def __init__(self, using: str) -> None:
        super().__init__(name=f"notify-tasks-relay-{using}", daemon=True)
        self.using = using
        self.stopping = threading.Event()
        self.lease: AdvisoryLock | LeaseRow | None = None
        self.listening = False
        self.failures = 0

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                self.cycle()
        finally:
            self.let_go()

    def stop(self, timeout: float = 10) -> None:
        self.stopping.set()
        self.join(timeout)

    def cycle(self) -> None:
        """One turn: hand over what waits, then wait for the next commit or the interval."""
        if app_settings.dispatch != "relay":
            self.let_go()  # on_commit mode: the saves publish; free the lease for no one
            self.stopping.wait(app_settings.relay_interval)
            return
        try:
            if not self.active():
                self.stopping.wait(STANDBY_SECONDS)
                return
            handed, complete = hand_off(self.using)
            if complete:
                self.recovered()
                if handed < RELAY_BATCH:
                    self.wait_for_work()
        except Exception as exc:  # the database is away: wait, reconnect, go on
            self.failed(exc)
            self.let_go()
            self.stopping.wait(self.backoff())
            return
        if not complete:  # the broker refused (dispatch logged each): try again later
            self.failures += 1
            self.stopping.wait(self.backoff())

    def active(self) -> bool:
        """Hold the lease, or take it; start listening once held (PostgreSQL)."""
        if self.lease is None:
            self.lease = lease_for(self.using)
        if not self.lease.hold():
            return False
        if not self.listening:
            logger.info("The outbox relay of database %r is the active one.", self.using)
            if isinstance(self.lease, AdvisoryLock) and _can_wait_for_notifies(self.using):
                with connections[self.using].cursor() as cursor:
                    cursor.execute(f"LISTEN {WAKE_CHANNEL}")
            self.listening = True
        return True

    def wait_for_work(self) -> None:
        """Until a commit wrote outbox rows (PostgreSQL) or the interval is over."""
        interval = app_settings.relay_interval
        if isinstance(self.lease, AdvisoryLock) and _can_wait_for_notifies(self.using):
            raw = connections[self.using].connection
            # A stop waits at most one interval; several commits wake the relay once.
            for _ in raw.notifies(timeout=interval, stop_after=1):
                pass
            for _ in raw.notifies(timeout=0):
                pass
        else:
            self.stopping.wait(interval)

    def let_go(self) -> None:
        """Give up the lease and close this thread's connection (which frees a lock)."""
        if self.lease is None and not self.listening:
            return
        lease, self.lease, self.listening = self.lease, None, False
        try:
            if lease is not None and lease.held:
                lease.give_up()
                logger.info("The outbox relay of database %r stood down.", self.using)
        except Exception:
            logger.debug("Could not give up the relay lease", exc_info=True)
        connections[self.using].close()

    def failed(self, exc: Exception) -> None:
        self.failures += 1
        logger.warning(
            "The outbox relay of database %r failed (%s: %s); it tries again.",
            self.using,
            type(exc).__name__,
            exc,
            exc_info=self.failures == 1,
        )

    def recovered(self) -> None:
        if self.failures:
            logger.warning("The outbox relay of database %r is back.", self.using)
        self.failures = 0

    def backoff(self) -> float:
        return float(min(MAX_BACKOFF, app_settings.relay_interval * 2 ** min(self.failures, 10)))


def _can_wait_for_notifies(using: str) -> bool:
    """psycopg 3 delivers notifications to a waiting connection (``notifies()``); with
    psycopg 2 the relay polls, as on other databases."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


class RelayStep(bootsteps.StartStopStep):
    """The worker's relays, started once its pool is up and stopped with the worker."""

    label = "django-notify-tasks outbox relay"
    requires = ("celery.worker.components:Pool",)

    def create(self, parent: Any) -> Relays:  # type: ignore[override]  # stubs say None
        return Relays()


class Relays:
    """One relay thread per database served."""

    def __init__(self) -> None:
        self.threads: list[Relay] = []

    def start(self) -> None:
        self.threads = [Relay(alias) for alias in relay_aliases()]
        for relay in self.threads:
            relay.start()

    def stop(self) -> None:
        for relay in self.threads:
            relay.stopping.set()
        for relay in self.threads:
            relay.join(10)
        self.threads = []


def on_worker_init(sender: Any = None, **kwargs: Any) -> None:
    """Add the relay's bootstep to the worker being made (``worker_init``)."""
    sender.app.steps["worker"].add(RelayStep)


def connect_worker_signals() -> None:
    from celery.signals import worker_init

    worker_init.connect(on_worker_init, dispatch_uid="django_notify_tasks.relay")
