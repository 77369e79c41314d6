"""Debian's Chromium for the browser and hub tests: one persistent context per session.

Chromium is never downloaded: Playwright drives /usr/bin/chromium, headless
and kept off the network.  The session fixture that calls ``open_context``
lives in grader_tests/conftest.py, so the browser and the hub tests share one
Playwright instance (a second one in the same session would fail).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .course_files import ROOT

CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 1000}


def open_context(tmp_path_factory):
    """One headless Debian Chromium context (a generator, for a session fixture)."""
    for stale in SCREENSHOTS.glob("FAILED-*.png"):  # left by an earlier run
        stale.unlink()
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(apt-get install chromium) to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport=VIEWPORT, device_scale_factor=1,
            locale="en-US", timezone_id="UTC")
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()
