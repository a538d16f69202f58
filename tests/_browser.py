"""A real headless Chromium for page tests, driven by Playwright.

The browser is the system's Chromium (``apt-get install -y chromium``; ``.ci/run`` installs it), or the
executable named by ``OYSTER_CHROMIUM``. When none can be had the tests fail with the fix in the
message: a page test that silently skips would let a broken page through.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "out" / "test-artifacts"


def chromium_path() -> str:
    """The Chromium executable to drive, or a failure that says how to get one."""
    named = os.environ.get("OYSTER_CHROMIUM")
    candidates = [named] if named else ["/usr/bin/chromium", shutil.which("chromium"),
                                        shutil.which("chromium-browser"), shutil.which("google-chrome")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    pytest.fail("no Chromium for the browser tests: install it (as root: apt-get install -y chromium) or point "
                "OYSTER_CHROMIUM at a Chromium executable; and pip install playwright (the dev extra)",
                pytrace=False)


def launch():
    """(playwright, browser): a headless Chromium; stop both when done."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install -e '.[dev]' (or pip install playwright)",
                    pytrace=False)
    executable = chromium_path()
    driver = sync_playwright().start()
    try:
        browser = driver.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS)
    except Exception as exc:
        driver.stop()
        pytest.fail(f"Chromium at {executable} did not start: {exc}", pytrace=False)
    return driver, browser


class PageWatch:
    """A page with everything that would reveal a broken or hijacked page recorded."""

    def __init__(self, browser, width: int = 1400, height: int = 1000) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def clean(self) -> None:
        """Assert nothing went wrong on the page."""
        assert not self.page_errors, self.page_errors
        assert not self.console_errors, self.console_errors
        assert not self.dialogs, self.dialogs

    def screenshot(self, name: str) -> Path:
        """Save a full-page screenshot as a test artifact."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.page.close()


def check_heatmap(page, trace: dict):
    """Assert the game heatmap: one cell per candidate and user type showing the trace's stored utility,
    and exactly one row marked chosen, the trace's choice. Returns that row's locator."""
    from oyster_agents.view.site import signed

    cells = page.locator("svg.heatmap g.cell")
    assert cells.count() == len(trace["candidates"]) * 3
    for n in range(cells.count()):
        cell = cells.nth(n)
        cand, utype = int(cell.get_attribute("data-candidate")), cell.get_attribute("data-type")
        stored = trace["candidates"][cand]["utility_by_type"][utype]
        assert float(cell.get_attribute("data-utility")) == pytest.approx(stored, abs=1e-4)
        assert cell.locator("text.cell-value").text_content() == signed(stored)
    chosen = page.locator("svg.heatmap g.hm-row[data-chosen=true]")
    assert chosen.count() == 1 and int(chosen.get_attribute("data-candidate")) == trace["chosen"]
    return chosen
