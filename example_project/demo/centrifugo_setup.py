"""Centrifugo in the demo: centrifuge-js from npm for the pages, and the server binary."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
REPO = HERE.parent
CENTRIFUGE_JS = HERE / "node_modules" / "centrifuge" / "dist" / "centrifuge.js"
RELEASES = "https://github.com/centrifugal/centrifugo/releases"
# Where `make centrifugo` puts the pinned server (the Makefile's CENTRIFUGO).
BUILT = REPO / ".cache" / "centrifugo" / "centrifugo"


def find_binary() -> tuple[str | None, str]:
    """The Centrifugo binary to run, and where it came from; (None, why) when there is none.

    In order: $CENTRIFUGO, the one `make centrifugo` built (BUILT), `centrifugo` on PATH;
    failing those, `make centrifugo` builds it when `go` and `make` are installed.
    """
    given = os.environ.get("CENTRIFUGO")
    if given:
        if os.access(given, os.X_OK):
            return given, "$CENTRIFUGO"
        return None, f"{given} ($CENTRIFUGO) is not executable"
    if os.access(BUILT, os.X_OK):
        return str(BUILT), "make centrifugo"
    on_path = shutil.which("centrifugo")
    if on_path:
        return on_path, "PATH"
    make, go = shutil.which("make"), shutil.which("go")
    if go is None or make is None:
        return None, "no centrifugo binary, and no `go` to build one"
    print(
        "Centrifugo: building it with `make centrifugo` (a first build takes minutes)", flush=True
    )
    build = subprocess.run([make, "--no-print-directory", "centrifugo"], cwd=REPO, check=False)
    if build.returncode == 0 and os.access(BUILT, os.X_OK):
        return str(BUILT), "make centrifugo"
    return None, "`make centrifugo` failed (see above)"


def install_centrifuge_js() -> str:
    """Install centrifuge-js (package.json here) with npm if missing; say how it went."""
    if CENTRIFUGE_JS.is_file():
        return "installed"
    npm = shutil.which("npm")
    if npm is None:
        print(
            "npm not found: the chat pages will say the live feed is unavailable (emails still "
            "go out). Install Node.js with npm and run the demo again to get it.",
            flush=True,
        )
        return "unavailable: centrifuge-js is not installed (no npm)"
    print("Installing centrifuge-js with npm ci ...", flush=True)
    # --ignore-scripts: the browser bundle ships built; no package needs to run code here.
    command = [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"]
    if subprocess.run(command, cwd=HERE).returncode or not CENTRIFUGE_JS.is_file():
        print(
            "npm ci failed (see above): the chat pages will say the live feed is unavailable "
            "(emails still go out).",
            flush=True,
        )
        return "unavailable: npm ci failed"
    return "installed"


def centrifugo_major(binary: str) -> int | None:
    """5 or 6 from "Centrifugo v6.1.0 (Go version: ...)"; None if it cannot be told."""
    try:
        result = subprocess.run(
            [binary, "version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\bv(\d+)\.", result.stdout)
    return int(match.group(1)) if match else None


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    path.chmod(0o600)  # in case it existed with wider permissions
