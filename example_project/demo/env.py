"""Load ``KEY=value`` lines from a ``.env`` file: just enough not to need python-dotenv."""

from __future__ import annotations

import os
from pathlib import Path


def load_env(path: Path) -> None:
    """Put the file's variables into ``os.environ``; variables already set there win."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        os.environ.setdefault(key.strip(), value)
