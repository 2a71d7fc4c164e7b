"""Settings of the fault tests' worker subprocess: the test settings plus ``fault_settings()``."""

import os

from tests.faults.config import fault_settings
from tests.settings import *  # noqa: F403

globals().update(
    fault_settings(int(os.environ["FAULTS_SMTP_PORT"]), os.environ["FAULTS_CENTRIFUGO_URL"])
)
# One connection per run, not the default three, so that "the sender" and "message 11" of
# the kill tests are one connection's; one test restarts the worker with the default
# (test_worker_killed.py).
NOTIFY_TASKS_EMAIL_CONNECTIONS = int(os.environ.get("FAULTS_EMAIL_CONNECTIONS") or 1)
