"""The demo stack as ``make demo`` starts it: run_demo.py (honcho and every process under it)
on free ports, with its files in a temporary directory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil

from tests.support.services import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
RUN_DEMO = ROOT / "example_project" / "run_demo.py"
START_TIMEOUT = 120  # seconds; npm ci on a fresh clone is part of it
STOP_TIMEOUT = 30
READY_LINE = "Chat demo is ready"
FLOWER_LOGIN = re.compile(r"flower login\s+user (\S+), password (\S+) \(generated")
# Variables of a developer's shell that would point the demo elsewhere.
OWN_PREFIXES = ("DEMO_", "FLOWER_", "NOTIFY_TASKS_", "CELERY_", "EMAIL_", "DJANGO_", "CENTRIFUGO")


class DemoStack:
    def __init__(self, var_dir: Path, extra_env: dict[str, str]) -> None:
        self.var_dir = var_dir
        self.ports = {
            name: free_port() for name in ("WEB", "SMTP", "REDIS", "FLOWER", "CENTRIFUGO")
        }
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
        self.env.update({f"DEMO_{name}_PORT": str(port) for name, port in self.ports.items()})
        self.env.update(DEMO_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra_env)
        for name in self.ports:  # a port extra_env chose wins
            self.ports[name] = int(self.env[f"DEMO_{name}_PORT"])
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)

    @property
    def site(self) -> str:
        return f"http://127.0.0.1:{self.ports['WEB']}"

    @property
    def flower(self) -> str:
        return f"http://127.0.0.1:{self.ports['FLOWER']}"

    def start(self) -> None:
        # Its own session and process group, like a terminal's foreground job.
        self.process = subprocess.Popen(
            [sys.executable, str(RUN_DEMO)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader.start()
        wait_for(self._ready, START_TIMEOUT, "run_demo.py to print that the demo is ready")

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError("run_demo.py stopped while starting:\n" + self.log())
        return any(READY_LINE in line for line in self.output)

    def log(self) -> str:
        return "\n".join(self.output[-80:])

    def flower_login(self) -> tuple[str, str]:
        """The generated Flower credentials, as the banner printed them."""
        for line in self.output:
            match = FLOWER_LOGIN.search(line)
            if match:
                return match.group(1), match.group(2)
        raise AssertionError("no generated Flower login in the banner:\n" + self.log())

    def stop(self) -> list[str]:
        """Ctrl-C to the process group, as a terminal does; what is still running after."""
        assert self.process is not None
        try:
            processes = psutil.Process(self.process.pid).children(recursive=True)
            os.killpg(self.process.pid, signal.SIGINT)
        except (psutil.NoSuchProcess, ProcessLookupError):  # it stopped by itself
            processes = []
        self.process.wait(timeout=STOP_TIMEOUT)
        self._reader.join(timeout=STOP_TIMEOUT)  # to the end of the output
        assert self.process.stdout is not None
        self.process.stdout.close()
        _, alive = psutil.wait_procs(processes, timeout=STOP_TIMEOUT)
        left = [f"{p.pid} {' '.join(p.cmdline())}" for p in alive if p.is_running()]
        for process in alive:  # don't leave them behind for the next test run
            process.kill()
        return left
