"""A real RabbitMQ node for the tests (``NOTIFY_TASKS_TEST_BROKER=rabbitmq``).

It needs Debian's ``rabbitmq-server`` package (the Makefile's ``test-faults`` and ``.ci/run``
install it), never its system service: the node is started here, from the package's own
start script, with everything its own: a node name, the AMQP port and the Erlang
distribution port on 127.0.0.1, its own ``epmd`` on a free loopback port, and a temporary
directory for the database, logs, the config, the plugins list and the Erlang cookie
(``HOME``). Each process is stopped by its own pid; a stopped node keeps its data, so a
restarted one has the durable queues and persistent messages it had, as a real one does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.support.services import free_port, wait_for

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
START_TIMEOUT = 60  # seconds: the Erlang VM and the broker boot in 3 to 10 s on a busy box


def server_script() -> Path:
    """Debian's start script, or a clear error naming the package to install."""
    if not SERVER.exists():
        raise RuntimeError(
            "NOTIFY_TASKS_TEST_BROKER=rabbitmq needs Debian's rabbitmq-server package: "
            "apt-get install rabbitmq-server (make test-faults and .ci/run install it)."
        )
    return SERVER


class RabbitMQServer:
    """One RabbitMQ node on a loopback port, which tests may stop and start again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="notify-tasks-rabbitmq-"))
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{port}\nlog.console = false\nlog.file.level = warning\n"
        )
        (self.dir / "enabled_plugins").write_text("[].\n")
        self.process: subprocess.Popen[bytes] | None = None
        self.epmd: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    @property
    def environment(self) -> dict[str, str]:
        """The node's own names, ports and directories; nothing from /etc/rabbitmq."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.dir),  # the Erlang cookie is made here
            "RABBITMQ_NODENAME": f"notify-tests-{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "rabbitmq.pid"),
        }

    def start(self) -> None:
        if self.epmd is None:  # epmd outlives node restarts, as it does on a real host
            self.epmd = subprocess.Popen(
                ["epmd", "-address", "127.0.0.1", "-port", str(self.epmd_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        with (self.dir / "server.out").open("ab") as out:
            self.process = subprocess.Popen(
                [str(server_script())],
                env=self.environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the script, erl and its helpers: one process group
            )
        wait_for(self._booted, timeout=START_TIMEOUT, message=f"RabbitMQ on port {self.port}")

    def _booted(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            output = (self.dir / "server.out").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"rabbitmq-server exited with {self.process.returncode}:\n{output}")
        return self.answers()

    def answers(self) -> bool:
        """The node speaks AMQP: it answers the protocol header with Connection.Start."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(AMQP_HEADER)
                return sock.recv(8).startswith(b"\x01\x00\x00")  # a method frame, channel 0
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the node (its start script stops erl on SIGTERM), then anything left of it."""
        if self.process is None:
            return
        self._end(self.process)
        self.process = None

    def close(self) -> None:
        """Stop the node and its epmd, and remove the directory: the end of the session."""
        self.stop()
        if self.epmd is not None:
            self._end(self.epmd)
            self.epmd = None
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _end(process: subprocess.Popen[bytes]) -> None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        # Helpers of erl (erl_child_setup, inet_gethost) in the same group, if any are left.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
