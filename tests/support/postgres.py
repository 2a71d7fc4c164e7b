"""A throwaway PostgreSQL cluster for the test session (``NOTIFY_TASKS_TEST_DB=postgresql``).

It needs the server binaries (Debian: ``apt-get install postgresql``), runs as the current
user, or as ``postgres`` when that is root (the server refuses to run as root), keeps its data
in a temporary directory, listens on 127.0.0.1 only and trusts local connections.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

# Durability is not what these tests are about: the cluster is gone after the session.
FAST_UNSAFE = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]


def server_bindir() -> Path:
    """Where initdb and pg_ctl are: $PG_BINDIR, PATH, or Debian's versioned directory."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    found = shutil.which("pg_ctl")
    candidates.append(str(Path(found).parent) if found else "")
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise RuntimeError(
        "NOTIFY_TASKS_TEST_DB=postgresql needs the PostgreSQL server binaries: install them "
        "(Debian: apt-get install postgresql) or set PG_BINDIR to the directory of initdb."
    )


class PostgresCluster:
    """initdb, pg_ctl start and stop, on a loopback port, as an unprivileged user."""

    def __init__(self, port: int, superuser: str) -> None:
        self.port = port
        self.superuser = superuser
        self.bindir = server_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="notify-tasks-pg-"))
        self.data = self.dir / "data"
        self.user = "postgres" if os.geteuid() == 0 else None

    def start(self) -> None:
        if self.user:
            shutil.chown(self.dir, self.user)
        self._run("initdb", "-D", self.data, "-U", self.superuser, "--auth=trust", "-E", "UTF8")
        options = ["-p", str(self.port), "-c", "listen_addresses=127.0.0.1"]
        options += ["-c", f"unix_socket_directories={self.dir}", *FAST_UNSAFE]
        self._run("pg_ctl", "-D", self.data, "-l", self.dir / "server.log", "-w", "-t", "60",
                  "-o", " ".join(options), "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, program: str, *args: Any) -> None:
        command = [str(self.bindir / program), *map(str, args)]
        done = subprocess.run(command, user=self.user, capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout.decode()}"
                               f"{done.stderr.decode()}")  # fmt: skip
