"""Settings of the digest test's worker subprocesses: the test settings, the real SMTP
server of the test, and a queue of each worker's own (tests/test_digest_workers.py)."""

import os

from tests.settings import *  # noqa: F403
from tests.support.services import smtp_settings

globals().update(smtp_settings(int(os.environ["DIGEST_SMTP_PORT"])))
# The digest a worker makes is queued to the worker's own queue, so it sends it too.
NOTIFY_TASKS_QUEUE = os.environ["DIGEST_QUEUE"]
NOTIFY_TASKS_EMAIL_TIMEOUT = 1
