"""Fixtures for the JupyterHub tests: the hub, Chromium, logins, screenshots.

The hub needs root (it creates Unix accounts; CI runs as root), npm's
configurable-http-proxy (``python3 tasks.py setup`` installs it into
hub/node_modules) and Debian's Chromium; without them the tests skip and say
what is missing.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser import conftest as browser_fixtures

from .hubserver import PROXY, running_hub

HERE = Path(__file__).parent
CHROMIUM = browser_fixtures.CHROMIUM
save_screenshot = browser_fixtures.save_screenshot


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.hub)
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def need_hub_tools() -> None:
    """Skip, saying what is missing, where a hub cannot run."""
    if os.geteuid() != 0:
        pytest.skip("the JupyterHub tests create Unix accounts and must run as root")
    if not PROXY.exists():
        pytest.skip(f"{PROXY} is missing: run `python3 tasks.py setup` (needs npm)")
    if shutil.which("runuser") is None or shutil.which("useradd") is None:
        pytest.skip("runuser/useradd are missing")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")


@pytest.fixture(scope="session")
def hub():
    need_hub_tools()
    with running_hub() as server:
        yield server


@pytest.fixture
def browser_page(chromium_context, request):
    """A fresh page with no hub login cookie."""
    chromium_context.clear_cookies()
    page = chromium_context.new_page()
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        save_screenshot(page, f"FAILED-{request.node.name}")
    page.close()


def log_in(page, hub, user: str) -> None:
    """Log in on the hub's login page and wait for the user's JupyterLab."""
    page.context.clear_cookies()
    page.goto(f"{hub.url}/hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(hub.passwords[user])
    page.locator("#login_submit").click()
    page.wait_for_url(re.compile(f"/user/{re.escape(user)}/lab"), timeout=120_000)
    expect(page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")).to_be_visible(
        timeout=90_000)
