"""One short line per failure reason, so that reasons that differ in details group together."""

from __future__ import annotations

import re

MAX_LENGTH = 80
NO_REASON = "(no reason recorded)"
# Where the details start: a repr of arguments, a host, a dict of refused recipients.
DETAILS = re.compile(r"[([{<]")


def short_reason(error: str) -> str:
    """``CentNetworkError: Network error`` for a paragraph starting with those words.

    The first line, cut where the details start (an opening bracket) and after its first
    two ``: ``-separated parts, at most ``MAX_LENGTH`` characters.
    """
    line = " ".join(error.strip().split("\n", 1)[0].split())
    line = DETAILS.split(line, 1)[0]
    line = ": ".join(line.split(": ")[:2]).rstrip(" :,;")
    if not line:
        return NO_REASON
    if len(line) <= MAX_LENGTH:
        return line
    return line[: MAX_LENGTH - 1] + "\u2026"
