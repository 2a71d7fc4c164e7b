"""Worker memory: peak RSS of a prefork worker after 100 and after 10,000 email deliveries.

One ``celery worker --pool prefork -c 2`` (the harness of bench/email_throughput.py: real
Redis, real SMTP server, ours with one rule) delivers 100 notifications, then 9,900 more;
after each stage, once every message has reached the SMTP server and the worker is idle,
VmHWM (peak RSS) and VmRSS of the main process and of each pool process are read from
/proc/<pid>/status. Target: the peak grows by no more than a few MB (3 MB per process).

    .venv-bench/bin/python bench/worker_memory.py [--first 100] [--total 10000]
                                                  [--db sqlite [postgresql]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.email_throughput import produce_ours  # noqa: E402
from bench.harness import open_bench, worker_memory  # noqa: E402

TARGET_MB = 3.0  # growth of any process's peak RSS


def run_database(db: str, first: int, total: int) -> dict[str, Any]:
    stages: list[dict[str, Any]] = []
    with open_bench(db) as bench:
        admins = bench.admins(total)
        worker = bench.worker("memory")
        try:
            main, pool = str(worker.pid), worker.pool_pids()
            bench.smtp.reset()
            for start, end in ((0, first), (first, total)):
                produce_ours(admins[start:end])
                bench.wait_for_messages(end, timeout=max(120, (end - start) / 5), worker=worker)
                worker.wait_until(worker.idle, 120, "the worker to finish")
                memory = worker_memory(worker)
                stages.append({"deliveries": end, "memory": memory})
                print(f"  {db} after {end:,}: {memory}", file=sys.stderr)
            same_pool = worker.pool_pids() == pool
            received = bench.smtp.stats()[0]
        finally:
            worker.stop()
        import django

        return {"stages": stages, "same_pool": same_pool, "main": main,
                "received": received, "django": django.get_version()}  # fmt: skip


def report(figures: dict[str, Any]) -> bool:
    met = True
    for db, found in figures.items():
        first, last = found["stages"]
        print(f"\n{db} (Django {found['django']}): {found['received']:,} messages received; "
              f"pool processes {'unchanged' if found['same_pool'] else 'REPLACED'}")  # fmt: skip
        print(f"{'process':<22}{'VmHWM after ' + format(first['deliveries'], ','):>20}"
              f"{'after ' + format(last['deliveries'], ','):>16}{'growth':>10}"
              f"{'VmRSS after':>14}{'growth':>10}")  # fmt: skip
        for pid, (hwm, rss) in first["memory"].items():
            hwm2, rss2 = last["memory"][pid]
            name = f"main {pid}" if pid == found["main"] else f"pool {pid}"
            print(f"{name:<22}{hwm:>17.1f} MB{hwm2:>13.1f} MB{hwm2 - hwm:>+7.1f} MB"
                  f"{rss2:>11.1f} MB{rss2 - rss:>+7.1f} MB")  # fmt: skip
            met = met and hwm2 - hwm <= TARGET_MB
        total = sum(h for h, _ in last["memory"].values())
        before = sum(h for h, _ in first["memory"].values())
        name = "whole tree (sum)"
        print(f"{name:<22}{before:>17.1f} MB{total:>13.1f} MB{total - before:>+7.1f} MB")
    verdict = "met" if met else "MISSED"
    print(f"\ntarget: no process's peak RSS grows by more than {TARGET_MB:g} MB: {verdict}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=100)
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--db", nargs="+", default=["sqlite"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_database(args.child, args.first, args.total)))
        return
    figures = {}
    for db in args.db:
        command = [sys.executable, __file__, "--child", db]
        command += ["--first", str(args.first), "--total", str(args.total)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
        figures[db] = json.loads(done.stdout.splitlines()[-1])
    report(figures)


if __name__ == "__main__":
    main()
