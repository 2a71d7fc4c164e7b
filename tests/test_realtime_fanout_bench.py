"""bench/realtime_fanout.py runs end to end at a tiny scale, so neither of its modes rots."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str, **env: str) -> str:
    """The script's output; fails with its output if it exits non-zero."""
    result = subprocess.run(
        [sys.executable, "bench/realtime_fanout.py", "--channels", "5", "--rounds", "2", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_double_mode_counts_one_broadcast_against_one_request_per_channel() -> None:
    out = bench("--server", "double")

    assert re.search(r"^django-notify-tasks \(broadcast\) +1 requests", out, re.M)
    assert re.search(r"^one publish per channel +5 requests", out, re.M)
    assert "requests: 5x fewer" in out


@pytest.mark.centrifugo
def test_real_mode_delivers_each_round_to_every_client_exactly_once(
    centrifugo_binary: Path,
) -> None:
    out = bench("--server", "real", CENTRIFUGO=str(centrifugo_binary))

    assert "real Centrifugo 6.9.1" in out
    assert "5 clients connected and subscribed" in out
    assert "every client got each of the 6 messages exactly once" in out
    assert out.count("5/5 clients received each round's message") == 2
    assert len(re.findall(r"arrival since the call began +p50", out)) == 2
