"""Playwright against Debian's Chromium and pytest-django's live server.

The browser binary comes from PLAYWRIGHT_CHROMIUM_EXECUTABLE (default /usr/bin/chromium); without it
every browser test is skipped, so a newcomer's `make test` still passes. Nothing is downloaded.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import seed_catalogs

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread with
# a running loop unless told that this is deliberate. The ORM calls here are the test's own set-up.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
requires_chromium = pytest.mark.skipif(
    not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)),
    reason=f"no Chromium at {CHROMIUM} (set PLAYWRIGHT_CHROMIUM_EXECUTABLE)",
)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(requires_chromium)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def catalogs(transactional_db):
    """The platform and scope catalogs come from a data migration; transactional tests flush them."""
    seed_catalogs()


# Every page of every browser test reports what the Content-Security-Policy blocked, in two ways: the
# document's securitypolicyviolation event (through a binding that survives navigations) and Chromium's
# console error ("Refused to ... because it violates the following Content Security Policy directive").
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation([event.violatedDirective, event.blockedURI, event.documentURI, event.sample].join(" | "));
});
"""


@pytest.fixture
def csp_violations() -> list[str]:
    """What the Content-Security-Policy blocked in this test's pages (the new_page fixture fills it)."""
    return []


@pytest.fixture
def new_page(browser, live_server, catalogs, csp_violations):
    """Open a page in a fresh browser context (own cookies); closed at the end of the test, which then
    fails if the Content-Security-Policy blocked anything on any of its pages."""
    contexts = []

    def _on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            csp_violations.append(f"console: {message.text}")

    def _new_page(width: int = 1280, height: int = 900, **options):
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True, base_url=live_server.url, **options
        )
        context.set_default_timeout(10_000)
        context.expose_binding("__cspViolation", lambda source, text: csp_violations.append(f"event: {text}"))
        context.add_init_script(_REPORT_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", _on_console)
        page.on("pageerror", lambda error: csp_violations.append(f"pageerror: {error}"))
        return page

    yield _new_page
    for context in contexts:
        context.close()
    assert not csp_violations, "the Content-Security-Policy blocked something (or a script failed):\n" + "\n".join(
        csp_violations
    )


@pytest.fixture
def screenshot(request) -> Iterator:
    """Save a full-page screenshot named after the test (tests/browser/screenshots/, gitignored)."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def _shot(page, suffix: str = "") -> Path:
        name = request.node.name.removeprefix("test_") + (f"-{suffix}" if suffix else "")
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    yield _shot
