"""Every ```python block in docs/ compiles, and runs unless its page says why it cannot.

The blocks of a page run in order in one namespace that starts as a copy of the test
settings (a reader's settings module), so a page may build on its earlier blocks. Markers,
an HTML comment on the line before the fence:

- ``<!-- sample: not-run (reason) -->``: compiled only; the reason is required.
- ``<!-- sample: entries -->``: entries of a rule dict; compiled and evaluated inside ``{}``.

After a page has run, the settings it assigned are checked: ``NOTIFY_TASKS_*`` names must be
real settings, ``NOTIFY_TASKS_RULES`` must parse without problems (the docs' ``chat`` app is
the test app ``testapp``, same models) and ``NOTIFY_TASKS_BEAT_SCHEDULE`` must build.
"""

from __future__ import annotations

import copy
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery import _state

from django_notify_tasks.beat import beat_schedule
from django_notify_tasks.conf import NotifyTasksConf
from django_notify_tasks.rules import parse_rules
from tests import settings as test_settings

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)
MARKER = re.compile(r"<!-- sample: (not-run|entries)(?: \((.*)\))? -->\s*$")
ENVIRON = re.compile(r"os\.environ\[[\"'](\w+)[\"']\]")
DOCS_MODULE_HEADER = "# chat/notifications.py"


@dataclass(frozen=True)
class Sample:
    page: str
    line: int
    source: str
    marker: str | None
    reason: str | None

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def samples(page: Path) -> Iterator[Sample]:
    text = page.read_text()
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rpartition("\n")[2]
        marker = MARKER.match(before)
        yield Sample(
            page.name,
            text.count("\n", 0, match.start()) + 1,
            match.group(1),
            marker.group(1) if marker else None,
            marker.group(2) if marker else None,
        )


PAGES = sorted(page for page in DOCS.glob("*.md") if any(samples(page)))
ALL = [sample for page in PAGES for sample in samples(page)]


def test_the_docs_have_samples_of_every_kind() -> None:
    assert len(ALL) > 20
    assert {sample.marker for sample in ALL} == {None, "not-run", "entries"}


@pytest.mark.parametrize("sample", ALL, ids=[sample.where for sample in ALL])
def test_every_sample_compiles(sample: Sample) -> None:
    source = "{\n" + sample.source + "\n}" if sample.marker == "entries" else sample.source
    compile(source, sample.where, "exec")


@pytest.mark.parametrize("sample", [s for s in ALL if s.marker == "not-run"], ids=str)
def test_a_sample_that_is_not_run_says_why(sample: Sample) -> None:
    assert sample.reason and sample.reason.strip(), f"{sample.where}: give the reason"


@pytest.fixture
def docs_chat_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``chat.notifications`` module the docs write, so dotted paths to it resolve."""
    package, module = types.ModuleType("chat"), types.ModuleType("chat.notifications")
    package.__path__ = []
    for sample in ALL:
        if sample.source.startswith(DOCS_MODULE_HEADER):
            exec(compile(sample.source, sample.where, "exec"), vars(module))  # noqa: S102
    monkeypatch.setitem(sys.modules, "chat", package)
    monkeypatch.setitem(sys.modules, "chat.notifications", module)


@pytest.fixture
def restore_current_celery_app() -> Iterator[None]:
    """Samples create the project's Celery app, which makes itself the current one."""
    previous = _state._tls.current_app
    yield
    _state._set_current_app(previous)


@pytest.mark.django_db
@pytest.mark.usefixtures("docs_chat_app", "restore_current_celery_app")
@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_the_samples_of_a_page_run_and_configure_valid_settings(
    page: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = settings_namespace()
    for sample in samples(page):
        for name in ENVIRON.findall(sample.source):
            monkeypatch.setenv(name, f"doc-sample-{name.lower()}")
        if sample.marker == "entries":
            eval(compile("{\n" + sample.source + "\n}", sample.where, "eval"), {})  # noqa: S307
        elif sample.marker is None:
            exec(compile(sample.source, sample.where, "exec"), namespace)  # noqa: S102
    check_settings(page.name, namespace)


def settings_namespace() -> dict[str, Any]:
    names = [name for name in vars(test_settings) if name.isupper()]
    return {name: copy.deepcopy(getattr(test_settings, name)) for name in names}


def check_settings(page: str, namespace: dict[str, Any]) -> None:
    known = {f"NOTIFY_TASKS_{name}" for name in NotifyTasksConf._meta.names}
    used = {name for name in namespace if name.startswith("NOTIFY_TASKS_")}
    assert used <= known, f"docs/{page} uses unknown settings {sorted(used - known)}"
    if "NOTIFY_TASKS_RULES" in namespace:
        parsed = parse_rules(as_test_app(namespace["NOTIFY_TASKS_RULES"]))
        assert [f"{name}: {error}" for name, error in parsed.problems] == []
    if "NOTIFY_TASKS_BEAT_SCHEDULE" in namespace:
        beat_schedule(namespace["NOTIFY_TASKS_BEAT_SCHEDULE"])


def as_test_app(rules: dict[str, Any]) -> dict[str, Any]:
    """The docs' rules for the ``chat`` app, pointed at ``testapp`` (the same models)."""
    return {
        name: {**rule, "model": re.sub(r"^chat\.", "testapp.", rule["model"])}
        for name, rule in rules.items()
    }
