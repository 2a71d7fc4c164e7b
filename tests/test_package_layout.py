"""The package's shape stays easy to follow: no import cycle, no module past ~300 lines, and
only the channels know a channel's name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "django_notify_tasks"
ROOT = PACKAGE.name
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for path in sorted(PACKAGE.rglob("*.py"))
    if "migrations" not in path.parts
}


def imported(path: Path) -> set[str]:
    """Package modules ``path`` imports, at any level, outside ``if TYPE_CHECKING:``, with the
    packages Python runs first (importing ``a.b.c`` from outside ``a.b`` runs ``a.b``'s
    ``__init__``; from inside it, the package is already being imported)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    own = module_name(path)
    modules = {name for name in found if name in MODULES}
    return {
        parent
        for name in modules
        for parent in parents(name)
        if parent == name or not own.startswith(parent + ".")
    } - {own}


def parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:n]) for n in range(2, len(parts) + 1)]  # the root runs no imports


GRAPH = {name: imported(path) for name, path in MODULES.items()}


def cycle_from(start: str) -> list[str] | None:
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        if name in path:
            return path[path.index(name) :] + [name]
        path.append(name)
        for target in sorted(GRAPH[name]):
            found = visit(target)
            if found:
                return found
        path.pop()
        return None

    return visit(start)


def test_the_graph_sees_the_imports() -> None:
    assert "django_notify_tasks.sending" in GRAPH["django_notify_tasks.tasks"]
    assert "django_notify_tasks.channels" in GRAPH["django_notify_tasks.checks.reports"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_cycle(name: str) -> None:
    assert cycle_from(name) is None, " -> ".join(cycle_from(name) or [])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_longer_than_300_lines(name: str) -> None:
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES


CHANNEL_NAME_TEST = re.compile(r"""(==|!=|\bin)\s*\(?\s*["'](email|realtime)["']""")


@pytest.mark.parametrize(
    "name", sorted(name for name in MODULES if not name.startswith(f"{ROOT}.channels"))
)
def test_only_channels_branch_on_a_channel_name(name: str) -> None:
    source = MODULES[name].read_text()
    assert not CHANNEL_NAME_TEST.findall(source)
    assert "Channel.EMAIL" not in source and "Channel.REALTIME" not in source
