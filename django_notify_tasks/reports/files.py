"""The report directory, and the two ways reports write to it: locked appends, atomic files."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import NotifyTasksError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends stay atomic, headers may repeat
    fcntl = None  # type: ignore[assignment]


class ReportDirError(NotifyTasksError, OSError):
    """``NOTIFY_TASKS_REPORT_DIR`` is unset, missing or not writable."""


class ReportDirMissing(ReportDirError):
    """``NOTIFY_TASKS_REPORT_DIR`` does not exist yet (the first report creates it)."""


def report_dir(*, create: bool = True) -> Path:
    """The configured directory, created if it does not exist yet (``create``), or
    ``ReportDirError`` saying what is wrong."""
    configured = app_settings.report_dir
    if not configured:
        raise ReportDirError("NOTIFY_TASKS_REPORT_DIR is not set: reports have nowhere to go")
    path = Path(configured)
    if not path.exists():
        if not create:
            raise ReportDirMissing(f"NOTIFY_TASKS_REPORT_DIR {configured!r} does not exist yet")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReportDirError(
                f"NOTIFY_TASKS_REPORT_DIR {configured!r} could not be created: {exc}"
            ) from exc
    if not path.is_dir() or not os.access(path, os.W_OK):
        raise ReportDirError(f"NOTIFY_TASKS_REPORT_DIR {configured!r} is not a writable directory")
    return path


def append_csv_row(path: Path, columns: list[str], row: dict[str, Any]) -> None:
    """Append ``row`` (and the header, for a new file) in one write, under an exclusive lock.

    O_APPEND makes each write land at the end; the lock keeps a concurrent run from writing
    its own header between our check and our write, so lines never interleave or split.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        if os.fstat(descriptor).st_size == 0:
            writer.writeheader()
        writer.writerow(row)
        os.write(descriptor, text.getvalue().encode())
    finally:
        os.close(descriptor)  # closing releases the lock


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON to a temporary file beside ``path``, then rename it into place.

    A reader sees the old file or the whole new one, never a partial write, and a run that
    dies half-way leaves no half-written report behind.
    """
    text = json.dumps(data, cls=DjangoJSONEncoder, indent=2, sort_keys=True) + "\n"
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", text=True)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; the CSV beside it is 0644
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path
