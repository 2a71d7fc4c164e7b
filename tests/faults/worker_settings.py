"""Settings of the fault tests' worker subprocess: the test settings plus ``fault_settings()``."""

import os

from tests.faults.config import fault_settings
from tests.settings import *  # noqa: F403

globals().update(
    fault_settings(int(os.environ["FAULTS_SMTP_PORT"]), os.environ["FAULTS_CENTRIFUGO_URL"])
)
