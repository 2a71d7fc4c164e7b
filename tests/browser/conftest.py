"""One demo stack for the session (run_demo.py on free ports, with the real Centrifugo it
starts) and a headless Chromium driven by Playwright.

Each module here sets ``pytestmark = pytest.mark.browser``: they run with
``make test-browser``, and a plain pytest run leaves them out. The packages they need
(playwright, psutil) are imported only in the fixtures.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.demo_centrifugo import DemoCentrifugo
from tests.support.centrifugo_server import find_binary
from tests.support.services import free_port

if TYPE_CHECKING:
    from tests.browser.demo_stack import DemoStack

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"  # git-ignored


@pytest.fixture(scope="session")
def demo_centrifugo() -> DemoCentrifugo:
    """The port and secrets of the real Centrifugo the demo stack starts (the binary
    `make centrifugo` builds; built here first where it is missing and `go` is installed)."""
    binary, reason = find_binary()
    if binary is None:
        pytest.fail(f"The browser tests run the real Centrifugo: {reason}.")
    return DemoCentrifugo(binary, free_port())


@pytest.fixture(scope="session")
def demo_stack(
    tmp_path_factory: pytest.TempPathFactory, demo_centrifugo: DemoCentrifugo
) -> Iterator[DemoStack]:
    """run_demo.py as `make demo` runs it, Centrifugo included; at the end, stopped with
    Ctrl-C (SIGINT to its process group), and nothing it started may be left running."""
    from tests.browser.demo_stack import DemoStack

    realtime = {
        "CENTRIFUGO": str(demo_centrifugo.binary),  # what run_demo.py starts
        "DEMO_CENTRIFUGO_PORT": str(demo_centrifugo.port),
        "NOTIFY_TASKS_CENTRIFUGO_API_KEY": demo_centrifugo.api_key,
        "NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET": demo_centrifugo.token_secret,
    }
    stack = DemoStack(tmp_path_factory.mktemp("demo-var"), realtime)
    try:
        stack.start()
        yield stack
    finally:
        left = stack.stop() if stack.process is not None else []
    assert left == [], f"still running after Ctrl-C: {left}\n{stack.log()}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # The worker and the delivery log's 5-second reload take their time: poll up to 20 s.
    expect.set_options(timeout=20_000)

    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).is_file():
        pytest.fail(f"No Chromium at {executable}: apt-get install chromium, or set CHROMIUM.")
    with sync_playwright() as playwright:
        # Loopback only: no background connections (updates, sync, QUIC) to the outside.
        quiet = ["--disable-background-networking", "--disable-component-update"]
        quiet += ["--disable-sync", "--disable-quic", "--no-first-run"]
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=quiet
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Opens pages in fresh browser contexts (separate logins); closes them after the test."""
    contexts = []

    def open_page() -> Any:
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Any:
    """Saves a full-page screenshot as tests/browser/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def save(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
