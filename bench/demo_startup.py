"""How long `make demo` takes on a fresh clone: until the site and Flower answer.

Clones the repository (its committed HEAD) into a temporary directory, runs `make demo` there
on free ports, as its own process group, and prints when the virtualenv was installed, when
the site answered, when Flower answered (with its login), and when the banner was printed;
then stops the demo with SIGINT to the group, as Ctrl-C in a terminal does, and checks that
no process is left. Target (issue #5): site and Flower within two minutes.

    .venv/bin/python bench/demo_startup.py [--no-pip-cache] [--keep]

--no-pip-cache downloads every package from the index, as on a machine that never ran pip.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser.demo_stack import OWN_PREFIXES, READY_LINE  # noqa: E402
from tests.support.services import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 600  # seconds: give up well after the two-minute target, to print the figure
STOP_TIMEOUT = 30


def status(url: str) -> int | None:
    """The HTTP status the URL answers with (401 counts: Flower is up), or None."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def group_alive(leader: subprocess.Popen[str]) -> bool:
    """Any process of the leader's group still there (the leader reaped, not a zombie)."""
    leader.poll()
    try:
        os.killpg(leader.pid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pip-cache", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the clone, to look at it")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="notify-tasks-demo-startup-"))
    clone = work / "clone"
    ports = {name: free_port() for name in ("WEB", "SMTP", "REDIS", "FLOWER", "CENTRIFUGO")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    env.update({f"DEMO_{name}_PORT": str(port) for name, port in ports.items()})
    env["npm_config_cache"] = str(work / "npm-cache")  # npm's own cache starts empty too
    if args.no_pip_cache:
        env["PIP_NO_CACHE_DIR"] = "1"
    # A fresh shell would not be inside this virtualenv.
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )

    started = time.monotonic()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    lines: list[str] = []
    demo = subprocess.Popen(
        ["make", "demo"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    reader = threading.Thread(target=lambda: lines.extend(demo.stdout or []), daemon=True)
    reader.start()
    site, flower = f"http://127.0.0.1:{ports['WEB']}/", f"http://127.0.0.1:{ports['FLOWER']}/"
    seen: dict[str, float] = {}
    checks = {
        "virtualenv installed": lambda: (clone / ".venv" / ".installed").exists(),
        "site answers": lambda: status(site) in (200, 302),
        "Flower answers (401 without the login)": lambda: status(flower) == 401,
        "banner printed": lambda: any(READY_LINE in line for line in lines),
    }
    try:
        while len(seen) < len(checks):
            if demo.poll() is not None:
                raise SystemExit("make demo stopped while starting:\n" + "".join(lines[-40:]))
            if time.monotonic() - started > DEADLINE:
                raise SystemExit(
                    f"not ready after {DEADLINE} s: {sorted(set(checks) - set(seen))}"
                )
            for name, check in checks.items():
                if name not in seen and check():
                    seen[name] = time.monotonic() - started
            time.sleep(0.2)
    finally:
        stopping = time.monotonic()
        os.killpg(demo.pid, signal.SIGINT)
        while group_alive(demo) and time.monotonic() - stopping < STOP_TIMEOUT:
            time.sleep(0.1)
        stopped_in = time.monotonic() - stopping
        left = group_alive(demo)
        if left:
            survivors = subprocess.run(
                ["ps", "-o", "pid,stat,args", "-g", str(demo.pid)], capture_output=True, text=True
            )
            print(f"left after {STOP_TIMEOUT} s:\n{survivors.stdout}", file=sys.stderr)
            os.killpg(demo.pid, signal.SIGKILL)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    cache = "no pip cache (every package downloaded)" if args.no_pip_cache else "pip cache as is"
    print(f"make demo on a fresh clone, {cache}, {os.cpu_count()} cores")
    for name, at in sorted(seen.items(), key=lambda item: item[1]):
        print(f"  {name:<40} {at:6.1f} s after git clone started")
    ready = max(seen["site answers"], seen["Flower answers (401 without the login)"])
    verdict = "met" if ready <= 120 else "missed"
    print(f"  site and Flower within {ready:.1f} s (target 120 s: {verdict})")
    stop = "processes left!" if left else "no process left"
    print(f"  Ctrl-C (SIGINT to the group): {stop}, in {stopped_in:.1f} s")


if __name__ == "__main__":
    main()
