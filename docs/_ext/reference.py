"""Reference pages generated from the code: management commands from their own argparse
parsers, models from their fields. Directives ``notify-tasks-commands``, ``notify-tasks-models``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

COMMANDS = "django_notify_tasks.management.commands"


def command_names() -> list[str]:
    folder = Path(importlib.import_module(COMMANDS).__file__ or "").parent
    return sorted(p.stem for p in folder.glob("notify_tasks_*.py"))


def base_options() -> set[tuple[str, ...]]:
    """Django's own options, which every command has (``--verbosity``, ``--settings``...)."""
    from django.core.management.base import BaseCommand

    parser = BaseCommand().create_parser("manage.py", "base")
    return {(*action.option_strings, str(action.help)) for action in parser._actions}


def usage(name: str, actions: list[Any]) -> str:
    words = [f"manage.py {name}"]
    for action in actions:
        if not action.option_strings:
            words.append("{" + ",".join(action.choices) + "}" if action.choices else action.dest)
            continue
        word = action.option_strings[0]
        if action.nargs != 0:
            word += f" {action.metavar or action.dest.upper()}"
        words.append(word if action.required else f"[{word}]")
    return " ".join(words)


def command_lines(name: str, common: set[tuple[str, ...]]) -> list[str]:
    command = importlib.import_module(f"{COMMANDS}.{name}").Command()
    parser = command.create_parser("manage.py", name)
    own = [a for a in parser._actions if (*a.option_strings, str(a.help)) not in common]
    lines = [name, "-" * len(name), "", " ".join(command.help.split()), ""]
    lines += [".. code-block:: text", "", f"   {usage(name, own)}", ""]
    for action in own:
        label = ", ".join(action.option_strings) or action.dest
        if action.metavar or (action.option_strings and action.nargs != 0):
            label += f" {action.metavar or action.dest.upper()}"
        text = (action.help or "").replace("%(default)s", str(action.default))
        if action.choices:
            text += f" One of: {', '.join(map(str, action.choices))}."
        if action.nargs != 0 and action.default not in (None, [], "==SUPPRESS=="):
            text += f" Default: ``{action.default!r}``."
        lines += [f"``{label}``", f"   {text.strip() or '(no help)'}", ""]
    return lines


class CommandsDirective(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        common = base_options()
        lines = [line for name in command_names() for line in command_lines(name, common)]
        return self.parse(lines)

    def parse(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, "reference"), container)
        return container.children


def model_lines(model: Any) -> list[str]:
    title = model.__name__
    doc = (model.__doc__ or "").strip().splitlines()[0]
    lines = [title, "-" * len(title), "", f"``{model.__module__}.{title}``: {doc}", ""]
    lines += [".. list-table::", "   :header-rows: 1", "", "   * - field", "     - type"]
    lines += ["     - description"]
    for field in model._meta.get_fields():
        if field.auto_created and not field.concrete:
            continue  # reverse relations are documented on the model that declares them
        kind = type(field).__name__
        if getattr(field, "swappable_setting", None):
            kind += f" to ``settings.{field.swappable_setting}``"
        elif field.is_relation and field.related_model is not None:
            kind += f" to ``{field.related_model._meta.label}``"
        text = str(getattr(field, "help_text", "") or getattr(field, "verbose_name", ""))
        choices = getattr(field, "choices", None)
        if choices:
            text += "; one of " + ", ".join(f"``{value}``" for value, _ in choices)
        lines += [f"   * - ``{field.name}``", f"     - {kind}", f"     - {text}"]
    return [*lines, ""]


class ModelsDirective(CommandsDirective):
    def run(self) -> list[nodes.Node]:
        from django.apps import apps

        models = apps.get_app_config("django_notify_tasks").get_models()
        return self.parse([line for model in models for line in model_lines(model)])


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("notify-tasks-commands", CommandsDirective)
    app.add_directive("notify-tasks-models", ModelsDirective)
    return {"parallel_read_safe": True}
