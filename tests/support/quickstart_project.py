"""Build the project a new user builds, from the README's and the quickstart's own snippets.

Nothing here is a copy of the docs: the settings come from the README's Quickstart block, the
models, templates and Celery module from docs/quickstart.md, found by the header comment each
snippet starts with. Used by tests/test_readme_quickstart.py and by ``make release-check``
(``python -m tests.support.quickstart_project PYTHON DIR``, PYTHON the venv to test).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)
HEADER = re.compile(r"^(?:# |\{# )([\w/.]+)(?: \(optional\))?(?: #\})?\n")


def readme_settings() -> str:
    """The first ``python`` block of the README's Quickstart section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Quickstart") :]
    return next(m.group(2) for m in FENCE.finditer(section) if m.group(1) == "python")


def quickstart_files() -> dict[str, str]:
    """docs/quickstart.md's snippets that name their file in a first-line comment."""
    files: dict[str, str] = {}
    for match in FENCE.finditer((ROOT / "docs" / "quickstart.md").read_text()):
        header = HEADER.match(match.group(2))
        if header and match.group(1) in {"python", "django"}:
            body = match.group(2)[header.end() :] if match.group(1) == "django" else match.group(2)
            files.setdefault(header.group(1), "")
            files[header.group(1)] += body
    return files


def as_project_settings(snippet: str) -> str:
    """The reader's edit: ``...`` in the snippet's INSTALLED_APPS is the list they have."""
    assert "[...," in snippet, "the README's INSTALLED_APPS no longer starts with '...'"
    return snippet.replace("[...,", '[*INSTALLED_APPS, "chat",', 1)


def build(python: str, directory: Path, *, celery: bool = False) -> Path:
    """startproject ``mysite`` and startapp ``chat`` with ``python``, then the snippets."""
    directory.mkdir(parents=True, exist_ok=True)
    for command in (["startproject", "mysite", "."], ["startapp", "chat"]):
        subprocess.run([python, "-m", "django", *command], cwd=directory, check=True)
    files = quickstart_files()
    (directory / "chat" / "models.py").write_text(files["chat/models.py"])
    for name, body in files.items():
        if name.startswith("chat/templates/"):
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
    settings = directory / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\n" + as_project_settings(readme_settings()))
    if celery:
        (directory / "mysite" / "celery.py").write_text(files["mysite/celery.py"])
        (directory / "mysite" / "__init__.py").write_text(files["mysite/__init__.py"])
    return directory


if __name__ == "__main__":
    build(sys.argv[1], Path(sys.argv[2]), celery="--celery" in sys.argv[3:])
