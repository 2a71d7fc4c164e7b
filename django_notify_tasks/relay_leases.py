"""At most one active relay per database: the relay that holds the lease hands rows over, the
others stand by and take over when it stops or dies.

On PostgreSQL the lease is a session-level advisory lock on the relay's own connection: the
server frees it the moment that connection ends, so a killed worker's relay is replaced at
the next try of another. Elsewhere it is a row of ``RelayLease`` with an expiry in the
database's clock, renewed while the relay runs; a killed worker's lease expires after
``LEASE_SECONDS``.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
import zlib
from datetime import timedelta

from django.db import IntegrityError, connections
from django.db.models import Q
from django.db.models.functions import Now

from django_notify_tasks.models import RelayLease

# Any bigint the host is unlikely to use for its own advisory locks, the same in every worker.
ADVISORY_LOCK_KEY = zlib.crc32(b"django_notify_tasks.relay")
LEASE_NAME = "outbox-relay"
LEASE_SECONDS = 10.0
RENEW_AFTER = LEASE_SECONDS / 3  # the holder renews well before its lease runs out


def holder_name() -> str:
    """Who holds a lease: host, process and a random part (a restarted worker is another)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:200]


class AdvisoryLock:
    """PostgreSQL: ``pg_try_advisory_lock`` on the relay thread's connection."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.held = False

    def hold(self) -> bool:
        """Take the lock if it is free; True while this relay holds it."""
        if not self.held:
            with connections[self.using].cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
                self.held = bool(cursor.fetchone()[0])
        return self.held

    def give_up(self) -> None:
        """Called when the connection is closed (which frees the lock) or about to be."""
        self.held = False


class LeaseRow:
    """Elsewhere: one ``RelayLease`` row per database, taken when free or expired."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.holder = holder_name()
        self.held = False
        self.renewed_at = 0.0

    def hold(self, now: float | None = None) -> bool:
        """Take or renew the lease; True while this relay holds it."""
        moment = time.monotonic() if now is None else now
        if self.held and moment - self.renewed_at < RENEW_AFTER:
            return True
        self.held = self._take()
        if self.held:
            self.renewed_at = moment
        return self.held

    def _take(self) -> bool:
        leases = RelayLease.objects.using(self.using)
        expires = Now() + timedelta(seconds=LEASE_SECONDS)
        free = Q(holder=self.holder) | Q(expires_at__lt=Now())
        if leases.filter(free, name=LEASE_NAME).update(holder=self.holder, expires_at=expires):
            return True
        if leases.filter(name=LEASE_NAME).exists():
            return False  # another relay holds it
        try:
            leases.create(name=LEASE_NAME, holder=self.holder, expires_at=expires)
        except IntegrityError:  # another relay created it first
            return False
        return True

    def give_up(self) -> None:
        """Let the next relay take over at once (a clean shutdown), if the database answers."""
        if self.held:
            self.held = False
            RelayLease.objects.using(self.using).filter(
                name=LEASE_NAME, holder=self.holder
            ).delete()


def lease_for(using: str) -> AdvisoryLock | LeaseRow:
    """The advisory lock on PostgreSQL, a lease row elsewhere."""
    if connections[using].vendor == "postgresql":
        return AdvisoryLock(using)
    return LeaseRow(using)
