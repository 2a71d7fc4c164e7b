"""The ``digest`` and ``throttle`` keys of a rule's ``email`` section (docs/inbox.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django_notify_tasks.exceptions import RuleError

PERIODS = {"hourly": 3600, "daily": 86400}


@dataclass(frozen=True)
class Digest:
    """Mail of the rule waits for the user's digest, sent once per ``every`` seconds;
    ``choosable``: the user may pick immediate or digest, ``default`` when they have not."""

    every: int
    choosable: bool = False
    default_digest: bool = True


@dataclass(frozen=True)
class Throttle:
    """Past ``max`` messages of the rule to one user in ``per`` seconds, the rest wait for
    the user's next digest."""

    max: int
    per: int


def parse_digest(name: str, value: object) -> Digest | None:
    if value is None:
        return None
    hint = ('Write "digest": "hourly", "daily", {"every": <seconds>}, or add "default": '
            '"immediate" or "digest" to let users choose.')  # fmt: skip
    if isinstance(value, str | int):
        value = {"every": value}
    if not isinstance(value, dict) or set(value) - {"every", "default"}:
        raise RuleError("E027", f"Rule {name!r}: 'email.digest' cannot be {value!r}.", hint)
    every = PERIODS.get(value.get("every"), value.get("every"))  # type: ignore[arg-type]
    default = value.get("default")
    if type(every) is not int or every < 60 or default not in (None, "immediate", "digest"):
        raise RuleError("E027", f"Rule {name!r}: 'email.digest' cannot be {value!r}.", hint)
    return Digest(every, default is not None, default != "immediate")


def parse_throttle(name: str, value: object) -> Throttle | None:
    if value is None:
        return None
    ok = isinstance(value, dict) and set(value) == {"max", "per"}
    numbers = [value.get(key) for key in ("max", "per")] if isinstance(value, dict) else []
    if not ok or not all(type(n) is int and n > 0 for n in numbers):
        raise RuleError(
            "E028",
            f"Rule {name!r}: 'email.throttle' should be {{'max': <count>, 'per': <seconds>}}, "
            f"not {value!r}.",
            'Write "throttle": {"max": 10, "per": 3600}.',
        )
    return Throttle(numbers[0], numbers[1])  # type: ignore[arg-type]
