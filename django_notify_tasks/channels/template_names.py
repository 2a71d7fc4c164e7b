"""What a compiled template reads from its context, told from its source: the variable and
tag sources of its nodes, following ``{% extends %}`` and ``{% include %}`` of constant names.

Two questions use it: does a template name ``recipient`` (then each recipient gets a
rendering of their own), and which attributes of ``instance`` does it read (then the outbox
snapshot keeps only those). Where the answer cannot be told, both answer on the safe side.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.base import Node, Token, TokenType
from django.template.loader_tags import ExtendsNode, IncludeNode

MAX_TEMPLATE_DEPTH = 10  # {% extends %} and {% include %} chains followed
PER_RECIPIENT_NAMES = re.compile(r"\b(?:recipient|unsubscribe_url)\b")
INSTANCE = re.compile(r"(?<![\w.])instance\b(?:\.(\w+))?")
LOAD = re.compile(r"^load\s+(.*)$")
# Django's own tag libraries read only what they are given; another library's tags may take
# the whole context (``takes_context``) and read the instance from it.
QUIET_LIBRARIES = frozenset({"i18n", "l10n", "tz", "static", "cache", "humanize"})


def names_recipient(template: Any) -> bool:
    """Whether a compiled template names ``recipient`` or ``unsubscribe_url``. A template that
    cannot be followed counts as a use: a needless rendering per recipient costs time, a
    missed one would send one person's content to everyone."""
    sources = template_sources(template)
    return sources is None or any(PER_RECIPIENT_NAMES.search(source) for source in sources)


def instance_names(template: Any) -> frozenset[str] | None:
    """The attributes of ``instance`` a compiled template reads (``instance.chat.title``
    reads ``chat``); None when that cannot be told: ``instance`` used whole (printed, passed
    to a filter or ``{% with %}``), a template chosen at render time, or a tag library other
    than Django's own."""
    sources = template_sources(template)
    if sources is None:
        return None
    names: set[str] = set()
    for source in sources:
        load = LOAD.match(source)
        if load and not set(load.group(1).split()) <= QUIET_LIBRARIES:
            return None
        for match in INSTANCE.finditer(source):
            if match.group(1) is None:
                return None
            names.add(match.group(1))
    return frozenset(names)


def parts_instance_names(
    load: Callable[[str], Any], parts: Iterable[str]
) -> frozenset[str] | None:
    """``instance_names`` over the templates of a section's ``parts`` (``load(part)`` gives
    the compiled template, or None for an optional part left out)."""
    names: set[str] = set()
    for part in parts:
        try:
            template = load(part)
        except (TemplateDoesNotExist, TemplateSyntaxError):
            return None
        found = frozenset() if template is None else instance_names(template)
        if found is None:
            return None
        names |= found
    return frozenset(names)


@functools.lru_cache(maxsize=256)
def template_sources(template: Any) -> tuple[str, ...] | None:
    """Every tag and variable source of ``template`` and the templates it extends and
    includes by constant name; None when one cannot be followed."""
    return _sources_of(template, depth=0)


def _sources_of(template: Any, depth: int) -> tuple[str, ...] | None:
    if depth > MAX_TEMPLATE_DEPTH:
        return None
    found: list[str] = []
    for node in template.nodelist.get_nodes_by_type(Node):
        found += _node_sources(node)
        if isinstance(node, ExtendsNode | IncludeNode):
            source = node.parent_name if isinstance(node, ExtendsNode) else node.template
            name = getattr(source, "var", None)
            if not isinstance(name, str):
                return None  # a template chosen at render time
            try:
                inner = _sources_of(template.engine.get_template(name), depth + 1)
            except (TemplateDoesNotExist, TemplateSyntaxError):
                return None  # rendering reports it
            if inner is None:
                return None
            found += inner
    return tuple(found)


def _node_sources(node: Node) -> list[str]:
    """The tag or variable source of ``node``, and the variables it keeps as tokens (the
    ``{{ name }}`` inside ``{% blocktranslate %}``); never the plain text of a TextNode."""
    tokens = [getattr(node, "token", None)]
    tokens += [item for value in vars(node).values() if isinstance(value, list)
               for item in value if isinstance(item, Token)]  # fmt: skip
    return [
        token.contents
        for token in tokens
        if isinstance(token, Token) and token.token_type != TokenType.TEXT
    ]
