"""Email throughput: 1,000 notifications to a real SMTP server through a real prefork worker.

Each case saves 1,000 chats, one per transaction, and has one email sent per chat to the
chat's admin (1,000 different addresses), through ``celery worker --pool prefork -c 2`` on
a real redis-server; the SMTP server (aiosmtpd, a process of its own) counts what it gets.
Wall time runs from the first save until the server has received the last message.

  ours         django-notify-tasks: one rule, email only, every NOTIFY_TASKS_* default
  naive        on commit, naive_send.delay(pk): a task that calls send_mail() (a connection each)
  celery-email django-celery-email's CeleryEmailBackend: send_mail() on commit queues its task
  post-office  django-post-office with CELERY_ENABLED: mail.send() queues a row; after commit,
               send_queued_mail.delay() sends the queue (batches of 100, 5 threads)
  limit        no Celery: one smtplib.SMTP connection sending 1,000 messages in a loop

Targets: ours >= 3x naive, ours >= the best peer, ours >= 30% of the limit. Each case gets
a fresh worker, warmed up with a few notifications first; every case uses the same worker
command line and settings (bench/settings.py). Runs SQLite (a file, WAL) and PostgreSQL (a
throwaway cluster), each in a process of its own.

    .venv-bench/bin/python bench/email_throughput.py [--messages 1000] [--db sqlite postgresql]
                                                     [--cases ours naive ...] [--backlog]
                                                     [--rounds 1]

Each case also prints the CPU seconds its worker (main and pool processes) and the SMTP
server used in the timed window; the limit's sender is the bench process.

With --rounds N each case is measured N times, the order rotating from round to round; the
table shows each case's median, and each target's ratio is taken within a round (ours against
the others measured in the same round), with its median and range.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import smtplib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Bench, cpu_seconds, open_bench, timed, worker_cpu  # noqa: E402

CASES = ("ours", "naive", "celery-email", "post-office", "limit")
PEERS = ("celery-email", "post-office")
WARMUP = 20  # notifications through each fresh worker before the measured run
Producer = Callable[[list[Any]], None]


# What each case does on the request path, for each admin ---------------------------------------


def produce_ours(admins: list[Any]) -> None:
    from django.db import transaction

    from tests.testapp.models import Chat

    for admin in admins:
        with transaction.atomic():
            Chat.objects.create(title=f"Chat of {admin.username}", admin=admin)


def produce_naive(admins: list[Any]) -> None:
    from django.db import transaction

    from bench.naive import naive_send
    from tests.testapp.models import Chat

    for admin in admins:
        with transaction.atomic():
            chat = Chat.objects.create(title=f"Chat of {admin.username}", admin=admin)
            transaction.on_commit(partial(naive_send.delay, chat.pk))


def produce_celery_email(admins: list[Any]) -> None:
    from django.core.mail import send_mail
    from django.db import transaction
    from djcelery_email.backends import CeleryEmailBackend

    from bench.naive import subject_and_body
    from tests.testapp.models import Chat

    backend = CeleryEmailBackend()  # what EMAIL_BACKEND would give send_mail() in the project
    for admin in admins:
        with transaction.atomic():
            chat = Chat.objects.create(title=f"Chat of {admin.username}", admin=admin)
            subject, body = subject_and_body(chat)
            send = partial(send_mail, subject, body, None, [admin.email], connection=backend)
            transaction.on_commit(send)


def produce_post_office(admins: list[Any]) -> None:
    from django.db import transaction
    from post_office import mail

    from bench.naive import subject_and_body
    from tests.testapp.models import Chat

    for admin in admins:
        with transaction.atomic():
            chat = Chat.objects.create(title=f"Chat of {admin.username}", admin=admin)
            subject, body = subject_and_body(chat)
            mail.send([admin.email], subject=subject, message=body)  # queued; task on commit


PRODUCERS: dict[str, Producer] = {
    "ours": produce_ours,
    "naive": produce_naive,
    "celery-email": produce_celery_email,
    "post-office": produce_post_office,
}


def send_limit(bench: Bench, admins: list[Any]) -> None:
    """One connection, one message after another: what the SMTP server and smtplib allow."""
    from django.core.mail import EmailMessage

    from bench.naive import subject_and_body
    from tests.testapp.models import Chat

    chats = [Chat(title=f"Chat of {admin.username}", admin=admin) for admin in admins]
    with smtplib.SMTP("127.0.0.1", bench.smtp.port, timeout=10) as smtp:
        for chat in chats:
            subject, body = subject_and_body(chat)
            message = EmailMessage(subject, body, None, [chat.admin.email]).message()
            smtp.sendmail(message["From"], [chat.admin.email], message.as_bytes())


# Measuring ------------------------------------------------------------------------------------


def py_spy(worker: Any, path: Path) -> subprocess.Popen[bytes]:
    """``py-spy record`` of the worker and its pool processes, idle time included, to SIGINT."""
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(worker.pid)]
    command += ["--subprocesses", "--idle", "--rate", "200", "--format", "raw"]
    command += ["--output", str(path)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(
    bench: Bench, case: str, messages: int, profile: Path | None = None, backlog: bool = False
) -> dict[str, Any]:
    """From the first save to the last message; with ``backlog``, the saves are made while
    the worker consumes nothing, and the time runs from when it starts consuming."""
    from django.test.utils import override_settings

    admins = bench.admins(messages + WARMUP)
    smtp_pid = bench.smtp.process.pid
    if case == "limit":  # the sender is this process
        bench.smtp.reset()
        cpu_before = (0.0, time.process_time(), cpu_seconds(smtp_pid))
        started, _ = timed(lambda: send_limit(bench, admins[:messages]))
        last = bench.wait_for_messages(messages, timeout=120)
        cpu = (0.0, time.process_time(), cpu_seconds(smtp_pid))
        received, connections, _, copies = bench.smtp.stats()
        return {"seconds": last - started, "produce_seconds": last - started,
                "connections": connections, "received": received, "copies": copies,
                "cpu": used(cpu_before, cpu)}  # fmt: skip
    # Ours is the only case with a rule on the request path.
    overrides: dict[str, Any] = {} if case == "ours" else {"NOTIFY_TASKS_RULES": {}}
    worker = bench.worker(case)
    try:
        with override_settings(**overrides):
            bench.smtp.reset()
            PRODUCERS[case](admins[messages:])
            bench.wait_for_messages(WARMUP, timeout=60, worker=worker)
            worker.wait_until(worker.idle, 60, "the warm-up to end")
            bench.smtp.reset()
            spy = py_spy(worker, profile / f"{case}-{bench.db}.txt") if profile else None
            if backlog:
                control(bench, worker, "cancel_consumer")
            cpu_before = (*worker_cpu(worker), cpu_seconds(smtp_pid))
            started, produce_seconds = timed(lambda: PRODUCERS[case](admins[:messages]))
            if backlog:
                started = time.monotonic()
                cpu_before = (*worker_cpu(worker), cpu_seconds(smtp_pid))
                control(bench, worker, "add_consumer")
            last = bench.wait_for_messages(messages, timeout=max(120, messages / 5), worker=worker)
            cpu = (*worker_cpu(worker), cpu_seconds(smtp_pid))
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its output and exits
                spy.wait(timeout=60)
            worker.wait_until(worker.idle, 120, "the worker to finish")
        received, connections, _, copies = bench.smtp.stats()
    finally:
        worker.stop()
        bench.app.control.purge()
    return {"seconds": last - started, "produce_seconds": produce_seconds,
            "connections": connections, "received": received, "copies": copies,
            "cpu": used(cpu_before, cpu)}  # fmt: skip


def used(before: tuple[float, ...], after: tuple[float, ...]) -> dict[str, float]:
    """CPU seconds spent between two readings of (worker main process, pool, SMTP server);
    the limit's sender is the bench process, in the pool's place."""
    return dict(zip(("main", "pool", "smtp"), (b - a for a, b in zip(before, after, strict=True)),
                    strict=True))  # fmt: skip


def control(bench: Bench, worker: Any, command: str) -> None:
    """Stop or start the worker consuming its queue (Celery's remote control), and wait."""
    getattr(bench.app.control, command)(worker.queue, destination=[worker.hostname], reply=True)


def run_database(
    db: str,
    messages: int,
    cases: list[str],
    profile: Path | None,
    worker_env: dict[str, str],
    backlog: bool = False,
    rounds: int = 1,
) -> dict[str, Any]:
    """Every case, ``rounds`` times, the order rotating from one round to the next, so that
    drift and other load on the machine fall on every case alike."""
    with open_bench(db, **worker_env) as bench:
        # The peers' app settings (django-appconf) are set on the settings object when their
        # modules are imported: import them now, not first inside a case's override_settings,
        # which would take the defaults away when it ends.
        import djcelery_email.backends  # noqa: F401
        import post_office.mail  # noqa: F401

        measured: list[dict[str, Any]] = []
        for number in range(rounds):
            turn = cases[number % len(cases) :] + cases[: number % len(cases)]
            results = {}
            for case in turn:
                results[case] = measure(bench, case, messages, profile, backlog)
                print(f"  {db} round {number + 1} {case}: {describe(results[case], messages)}",
                      file=sys.stderr)  # fmt: skip
            measured.append({case: results[case] for case in cases})
        import django

        return {"django": django.get_version(), "rounds": measured}


def describe(result: dict[str, Any], messages: int) -> str:
    return (
        f"{messages / result['seconds']:.0f} msg/s, {result['seconds']:.2f} s "
        f"(saves and enqueues {result['produce_seconds']:.2f} s), "
        f"{result['connections']} connections, {result['received']} received"
        f" (and {result['copies']} copies); CPU s: worker {result['cpu']['main']:.2f}"
        f" + pool {result['cpu']['pool']:.2f}, SMTP server {result['cpu']['smtp']:.2f}"
    )


# Driving --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument(
        "--profile", type=Path, help="py-spy record the worker in each case into this directory"
    )
    parser.add_argument("--prefetch", type=int, default=1, help="worker_prefetch_multiplier")
    parser.add_argument("--conn-max-age", type=int, default=0, help="CONN_MAX_AGE, seconds")
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="save while the worker consumes nothing; time the drain from when it starts",
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="worker --concurrency (the targets: 2)"
    )
    parser.add_argument(
        "--email-connections",
        type=int,
        help="ours: NOTIFY_TASKS_EMAIL_CONNECTIONS (default: the package's default, 3)",
    )
    parser.add_argument(
        "--smtp-delay", type=float, default=0.0, help="ms the SMTP server holds each reply"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure every case this many times, in turn"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    env = {"BENCH_PREFETCH": str(args.prefetch), "BENCH_CONN_MAX_AGE": str(args.conn_max_age),
           "BENCH_CONCURRENCY": str(args.concurrency),
           "BENCH_EMAIL_CONNECTIONS": str(args.email_connections or "")}  # fmt: skip
    if args.child:
        found = run_database(
            args.child, args.messages, args.cases, args.profile, env, args.backlog, args.rounds
        )
        print(json.dumps(found))
        return
    figures = {}
    for db in args.db:
        command = [sys.executable, __file__, "--child", db, "--messages", str(args.messages)]
        command += ["--prefetch", str(args.prefetch), "--conn-max-age", str(args.conn_max_age)]
        command += ["--concurrency", str(args.concurrency)]
        if args.email_connections:
            command += ["--email-connections", str(args.email_connections)]
        command += ["--backlog"] if args.backlog else []
        command += ["--rounds", str(args.rounds)]
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            command += ["--profile", str(args.profile.resolve())]
        done = subprocess.run(
            [*command, "--cases", *args.cases], check=True, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1",
                 "BENCH_SMTP_DELAY": str(args.smtp_delay / 1000)},
        )  # fmt: skip
        figures[db] = json.loads(done.stdout.splitlines()[-1])
    mode = "a backlog of saves, drained" if args.backlog else "saves and delivery together"
    print(
        f"\nworker_prefetch_multiplier={args.prefetch}, CONN_MAX_AGE={args.conn_max_age}, {mode}"
    )
    if args.email_connections:
        print(f"ours with NOTIFY_TASKS_EMAIL_CONNECTIONS = {args.email_connections}")
    if args.smtp_delay:
        print(f"the SMTP server holds each message's reply {args.smtp_delay:g} ms")
    report(figures, args.messages, args.concurrency)


def report(figures: dict[str, Any], messages: int, concurrency: int = 2) -> None:
    rounds = len(next(iter(figures.values()))["rounds"])
    print()
    print(f"{messages:,} messages, worker --pool prefork -c {concurrency}; "
          "messages/second (wall time), "
          f"median of {rounds} round(s)")  # fmt: skip
    header = f"{'case':<14}" + "".join(f"{db + ' (Django ' + f['django'] + ')':>32}"
                                       for db, f in figures.items())  # fmt: skip
    print(header)
    cases = list(next(iter(figures.values()))["rounds"][0])
    for case in cases:
        row = f"{case:<14}"
        for found in figures.values():
            results = [measured[case] for measured in found["rounds"]]
            rate = statistics.median(messages / r["seconds"] for r in results)
            connections = statistics.median(r["connections"] for r in results)
            cell = f"{rate:,.0f} ({connections:.0f} conn)"
            copies = sum(r["copies"] for r in results)
            if copies:  # sent twice: reported, never counted as throughput
                cell += f" +{copies} copies"
            row += f"{cell:>32}"
        print(row)
    print("\nCPU seconds in the timed window (worker main process + pool processes; the")
    print("limit: the bench process sending), and the SMTP server's, median of the rounds")
    for case in cases:
        row = f"{case:<14}"
        for found in figures.values():
            cpu = [measured[case]["cpu"] for measured in found["rounds"]]
            worker = statistics.median(c["main"] + c["pool"] for c in cpu)
            smtp = statistics.median(c["smtp"] for c in cpu)
            row += f"{f'{worker:.2f} + server {smtp:.2f}':>32}"
        print(row)
    print()
    for db, found in figures.items():
        for name, ratios, target in checks(found["rounds"], messages):
            median = statistics.median(ratios)
            verdict = "met" if median >= target else "MISSED"
            spread = f", rounds {min(ratios):.2f} to {max(ratios):.2f}" if len(ratios) > 1 else ""
            print(f"{db}: {name} = {median:.2f}{spread} (target >= {target:g}): {verdict}")


def checks(rounds: list[dict[str, Any]], messages: int) -> list[tuple[str, list[float], float]]:
    """Each target's ratio in each round: ours against the cases measured in the same round."""
    found: dict[str, list[float]] = {}
    targets = {"ours / naive": 3.0, "ours / best peer": 1.0, "ours / limit": 0.3}
    for measured in rounds:
        rates = {case: messages / r["seconds"] for case, r in measured.items()}
        if "ours" not in rates:
            return []
        peers = [rates[peer] for peer in PEERS if peer in rates]
        against = {"ours / naive": rates.get("naive"), "ours / limit": rates.get("limit"),
                   "ours / best peer": max(peers) if peers else None}  # fmt: skip
        for name, other in against.items():
            if other:
                found.setdefault(name, []).append(rates["ours"] / other)
    return [(name, found[name], target) for name, target in targets.items() if name in found]


if __name__ == "__main__":
    main()
