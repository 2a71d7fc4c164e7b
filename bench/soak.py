"""Soak: many notifications through a real prefork worker on PostgreSQL, killed at random.

A throwaway PostgreSQL cluster, Redis and the SMTP counter (bench/smtp_counter.py, which
counts each recipient once and copies apart) are started; one ``celery worker --pool prefork
-c 2`` (tests/support/workers.py) delivers ``--count`` notifications (100,000 by default), one
recipient each, recorded in chunks with ``notify_bulk``. While it works, the whole worker
(main process and pool) is SIGKILLed ``--kills`` times at random moments and restarted, as a
supervisor would; the sweeper runs every second, as beat would. At the end:

- every message delivered: the SMTP server received one per notification, and every row
  is ``sent``;
- at most one copy per SMTP connection per kill: a kill can leave one accepted, unrecorded
  message on each connection of each pool process (2 processes times
  NOTIFY_TASKS_EMAIL_CONNECTIONS, the default 3), so at most 6 per kill;
- worker RSS flat after warm-up: the summed RSS of the worker's processes, sampled through
  each life of the worker, grows by no more than ``--rss-growth`` MB after the first
  ``--warm-up`` deliveries of that life;
- ``purge_old`` (run as if two days later) empties the notification and delivery tables.

    .venv/bin/python bench/soak.py [--count 100000] [--kills 5] [--seed N]

``make soak`` runs it (SOAK_ARGS="--count 20000" for a shorter run). Exits non-zero when a
check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import postgres_cluster, worker_memory  # noqa: E402
from bench.smtp_counter import SmtpCounter  # noqa: E402
from tests.support.services import free_port  # noqa: E402

CHUNK = 1000  # notifications recorded per transaction


@dataclass
class Life:
    """One run of the worker between kills: RSS samples (delivered so far, MB)."""

    started_at: int  # messages delivered when it started
    samples: list[tuple[int, float]] = field(default_factory=list)

    def growth(self, warm_up: int) -> float | None:
        """RSS growth from the first sample past warm-up to the last; None if too short."""
        warm = [mb for delivered, mb in self.samples if delivered - self.started_at >= warm_up]
        return warm[-1] - warm[0] if len(warm) >= 2 else None


@contextlib.contextmanager
def services(tmp: Path) -> Iterator[tuple[SmtpCounter, Any]]:
    """SMTP counter, PostgreSQL, Django set up and migrated, Redis; the Celery app."""
    with contextlib.ExitStack() as stack:
        smtp = SmtpCounter()
        stack.callback(smtp.stop)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="bench.soak_settings",
            NOTIFY_TASKS_TEST_DB="postgresql",
            NOTIFY_TASKS_TEST_REDIS_PORT=str(free_port()),
            BENCH_SMTP_PORT=str(smtp.port),
        )
        stack.enter_context(postgres_cluster())
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from tests.support.services import RedisServer

        call_command("migrate", verbosity=0)
        redis = RedisServer(settings.REDIS_TEST_PORT)
        redis.start()
        stack.callback(redis.stop)
        from tests.support.celery_app import app

        yield smtp, app


def record(count: int) -> None:
    """``count`` users and chats, and a notification per chat, in chunks of CHUNK."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from django_notify_tasks import notify_bulk
    from tests.testapp.models import Chat

    user_model = get_user_model()
    for start in range(0, count, CHUNK):
        numbers = range(start, min(start + CHUNK, count))
        admins = user_model.objects.bulk_create(
            user_model(username=f"soak{n}", email=f"soak{n}@bench.example", password="!")
            for n in numbers
        )
        with transaction.atomic():
            chats = Chat.objects.bulk_create(
                Chat(title=f"chat {n}", admin=admin)
                for n, admin in zip(numbers, admins, strict=True)
            )
            notify_bulk("chat-created", chats, event="created")


def diagnose() -> str:
    """What the rows say: statuses, attempts, claims and errors, the biggest groups first."""
    from django.db.models import BooleanField, Count, ExpressionWrapper, Q

    from django_notify_tasks.models import Delivery, Notification

    claimed = ExpressionWrapper(~Q(claim_token=""), output_field=BooleanField())
    lines = []
    for rows in (Notification.objects.values("status", "attempts", "error", claimed=claimed),
                 Delivery.objects.values("status", "attempts", "error")):  # fmt: skip
        groups = rows.annotate(n=Count("pk")).order_by("-n")[:15]
        lines += [f"  {rows.model.__name__}: {dict(group)}" for group in groups]
    return "\n".join(lines)


def soak(args: argparse.Namespace) -> bool:
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="notify-tasks-soak-"))
    try:
        with services(tmp) as (smtp, app):
            return run(args, rng, smtp, app, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(
    args: argparse.Namespace, rng: random.Random, smtp: SmtpCounter, app: Any, tmp: Path
) -> bool:
    from django.db.models import Count
    from django.utils import timezone

    from django_notify_tasks.conf import app_settings
    from django_notify_tasks.models import Delivery, Notification
    from django_notify_tasks.reports.purge import purge_old
    from django_notify_tasks.tasks import redispatch_stale
    from tests.support.workers import CeleryWorker

    env = {"BENCH_SMTP_PORT": os.environ["BENCH_SMTP_PORT"]}
    worker = CeleryWorker(
        app, "celery", tmp / "worker.log", settings_module="bench.soak_settings", env=env
    )
    worker.start()
    # Kill points: random delivered counts, spread over the run, at least 2% apart.
    kill_at = sorted(rng.sample(range(args.count // 20, args.count * 19 // 20, args.count // 50),
                                args.kills))  # fmt: skip
    print(f"soak: {args.count:,} notifications, kills after {kill_at} deliveries", flush=True)
    started = time.monotonic()
    record(args.count)
    recorded = time.monotonic() - started
    print(f"  recorded in {recorded:.0f} s", flush=True)

    lives = [Life(0)]
    kills: list[int] = []
    last_sweep = last_sample = last_trace = 0.0
    deadline = time.monotonic() + args.timeout
    progress = (-1, 0.0)  # delivered, and when that count was first seen
    try:
        while True:
            delivered = smtp.stats()[0]
            now = time.monotonic()
            if delivered >= args.count and not Delivery.objects.exclude(status="sent").exists():
                break
            if delivered != progress[0]:
                progress = (delivered, now)
            if now > deadline or now - progress[1] > args.stall:
                print(f"  stopped with {delivered:,} delivered, {now - progress[1]:.0f} s "
                      f"without progress\n{diagnose()}\n{worker.log()[-5000:]}")  # fmt: skip
                return False
            if kill_at and delivered >= kill_at[0]:
                kill_at.pop(0)
                worker.kill()
                kills.append(delivered)
                worker.start()
                lives.append(Life(delivered))
                print(f"  killed at {delivered:,} delivered ({now - started:.0f} s)", flush=True)
            if args.trace and now - last_trace >= args.trace:
                print(
                    f"  {now - started:.0f} s, {delivered:,} delivered:\n{diagnose()}", flush=True
                )
                last_trace = now
            if now - last_sample >= 2:
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    rss = sum(mb for _, mb in worker_memory(worker).values())
                    lives[-1].samples.append((delivered, rss))
                last_sample = now
            if now - last_sweep >= 1:  # beat's sweeper, and a supervisor's restart
                worker.restart_if_exited()
                redispatch_stale.apply_async()
                last_sweep = now
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()

    messages, connections, _, copies = smtp.stats()
    statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("pk")))
    attempts_over_one = Delivery.objects.filter(attempts__gt=1).count()
    purged = purge_old(now=timezone.now() + timedelta(days=2))
    left = (Notification.objects.count(), Delivery.objects.count())

    growths = [(life.started_at, life.growth(args.warm_up)) for life in lives]
    measured = [g for _, g in growths if g is not None]
    print(
        f"\nnotifications {args.count:,}; recorded in {recorded:.0f} s; all delivered "
        f"{elapsed:.0f} s after the start ({args.count / elapsed:.0f} per second overall)"
    )
    print(f"SMTP: {messages:,} distinct messages, {copies} copies, {connections:,} connections")
    print(f"rows: {statuses}; {attempts_over_one} deliveries claimed more than once")
    print(f"kills: {len(kills)}, at {kills} messages delivered")
    for life in lives:
        first = life.samples[0][1] if life.samples else float("nan")
        last = life.samples[-1][1] if life.samples else float("nan")
        print(
            f"worker life from {life.started_at:,}: {len(life.samples)} RSS samples, "
            f"{first:.1f} MB first, {last:.1f} MB last, growth after warm-up "
            f"{life.growth(args.warm_up)}"
        )
    # A kill can leave one accepted, unrecorded message on each connection of each process.
    copy_bound = len(kills) * worker.concurrency * app_settings.email_connections
    print(f"purge_old: {purged:,} notifications deleted; left: {left[0]} notifications, "
          f"{left[1]} deliveries")  # fmt: skip

    checks = {
        "every message delivered": messages == args.count and statuses == {"sent": args.count},
        f"at most one copy per connection per kill (<= {copy_bound})": copies <= copy_bound,
        f"{args.kills} kills made": len(kills) == args.kills,
        f"RSS flat after warm-up (<= {args.rss_growth} MB)": bool(measured)
        and max(measured) <= args.rss_growth,
        "tables purged": left == (0, 0),
    }
    for name, met in checks.items():
        print(f"{'ok  ' if met else 'FAIL'} {name}")
    return all(checks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--warm-up", type=int, default=2_000, help="deliveries per life")
    parser.add_argument("--rss-growth", type=float, default=5.0, help="MB, summed processes")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds")
    parser.add_argument("--trace", type=float, default=0, help="print the rows every N s")
    parser.add_argument("--stall", type=float, default=180, help="seconds without a delivery")
    sys.exit(0 if soak(parser.parse_args()) else 1)


if __name__ == "__main__":
    main()
