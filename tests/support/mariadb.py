"""A throwaway MariaDB server for the test session (``NOTIFY_TASKS_TEST_DB=mariadb``).

It needs Debian's ``mariadb-server`` package (the Makefile's ``test-faults`` and ``.ci/run``
install it), never its system service: ``mariadb-install-db`` makes a data directory in a
temporary directory, and ``mariadbd --no-defaults`` serves it on 127.0.0.1 and a free port
(and a socket in that directory), as the ``mysql`` user when the tests run as root. The
test user may connect from 127.0.0.1 without a password and create the test database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.services import wait_for

SERVER = Path("/usr/sbin/mariadbd")
START_TIMEOUT = 60  # seconds
# Durability is not what these tests are about: the server is gone after the session.
FAST_UNSAFE = ["--innodb-flush-log-at-trx-commit=0", "--sync-binlog=0", "--skip-log-bin"]


def server_binary() -> Path:
    """Debian's server binary, or a clear error naming the package to install."""
    if not SERVER.exists():
        raise RuntimeError(
            "NOTIFY_TASKS_TEST_DB=mariadb needs Debian's mariadb-server package: "
            "apt-get install mariadb-server (make test-faults and .ci/run install it)."
        )
    return SERVER


class MariaDBServer:
    """mariadb-install-db, then mariadbd in the foreground; stopped by its own pid."""

    def __init__(self, port: int, user: str) -> None:
        self.port = port
        self.user = user
        self.dir = Path(tempfile.mkdtemp(prefix="notify-tasks-mariadb-"))
        self.data = self.dir / "data"
        self.socket = self.dir / "mariadb.sock"
        self.os_user = "mysql" if os.geteuid() == 0 else None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = server_binary()
        if self.os_user:
            shutil.chown(self.dir, self.os_user)
        install = ["mariadb-install-db", "--no-defaults", f"--datadir={self.data}",
                   "--auth-root-authentication-method=normal", "--skip-test-db"]  # fmt: skip
        if self.os_user:
            install.append(f"--user={self.os_user}")
        self._run(install)
        command = [
            str(server), "--no-defaults", f"--datadir={self.data}", f"--socket={self.socket}",
            f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-name-resolve",
            f"--pid-file={self.dir / 'mariadb.pid'}", f"--log-error={self.dir / 'error.log'}",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            "--max-connections=500", *FAST_UNSAFE,
        ]  # fmt: skip
        if self.os_user:
            command.append(f"--user={self.os_user}")
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for(self._answers, timeout=START_TIMEOUT, message=f"MariaDB on port {self.port}")
        self.sql(
            f"CREATE USER '{self.user}'@'127.0.0.1';"
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.user}'@'127.0.0.1';"
        )

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.dir / "error.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{log}")
        done = subprocess.run(self._client("SELECT 1"), capture_output=True, check=False)
        return done.returncode == 0

    def sql(self, statements: str) -> None:
        """Run ``statements`` as root over the socket."""
        self._run(self._client(statements))

    def _client(self, statements: str) -> list[str]:
        return ["mariadb", "--no-defaults", f"--socket={self.socket}", "--user=root",
                "--batch", "-e", statements]  # fmt: skip

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _run(command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout.decode()}"
                               f"{done.stderr.decode()}")  # fmt: skip
