"""The README's Quickstart, copied into a new project, passes ``manage.py check`` cleanly.

The project is built from the README's own settings snippet and docs/quickstart.md's models
and templates (tests/support/quickstart_project.py), so neither can drift from what works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import quickstart_project


def manage(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quickstart_project.build(sys.executable, tmp_path_factory.mktemp("site"))


def test_the_readme_quickstart_gives_a_clean_check(project: Path) -> None:
    result = manage(project, "check", "--fail-level", "WARNING")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "System check identified no issues (0 silenced).\n"


def test_the_project_really_holds_the_readme_rule(project: Path, tmp_path: Path) -> None:
    # A check that passes because the rule went missing would prove nothing.
    project = Path(shutil.copytree(project, tmp_path / "copy"))
    settings = (project / "mysite" / "settings.py").read_text()
    assert quickstart_project.readme_settings().split("\n", 2)[2][:40] in settings
    (project / "chat" / "templates" / "chat" / "email" / "member_joined.txt").unlink()
    result = manage(project, "check")
    assert result.returncode == 1
    assert "django_notify_tasks.E008" in result.stderr
