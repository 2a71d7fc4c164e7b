"""Run a script in the example project's own Django (demo.settings, app chat), on a SQLite
database of its own in ``var_dir``; the script prints JSON as its last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "example_project"
# Variables of a developer's shell that would point the example elsewhere.
INHERITED = ("DEMO_", "FLOWER_", "NOTIFY_TASKS_", "CELERY_", "DJANGO_")


def run_in_example(var_dir: Path, script: str, **extra_env: str) -> Any:
    """Migrate, run ``script`` with ``manage.py shell -c``, and return its last line, parsed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED)}
    env.update(DEMO_VAR_DIR=str(var_dir), CELERY_TASK_ALWAYS_EAGER="", **extra_env)
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--no-input", "-v", "0"], ["shell", "-c", script]):
        result = subprocess.run(
            manage + command, cwd=EXAMPLE_PROJECT, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
