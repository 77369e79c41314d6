"""Fixtures for the end-to-end tests: Debian's Chromium, JupyterLab servers, screenshots.

Chromium is never downloaded: Playwright drives /usr/bin/chromium (Debian's
package, which ``.ci/run`` installs), headless and kept off the network.
Screenshots of each key state go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from .course_files import ROOT, copy_student_edition
from .labserver import BackgroundCommand, running_lab

WANTS_DEMO = pytest.StashKey[bool]()
from .chromium import CHROMIUM, SCREENSHOTS  # noqa: E402,F401 - re-exported

INSTRUCTOR_MODULE = "test_browser_instructor.py"


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: see what will really run
def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
    # The instructor tests need the demo's autograde, which takes minutes: it
    # starts in the background with the first browser test (see graded_demo)
    # and the instructor tests run last, so the student tests overlap it.
    # Only the browser tests are reordered: the rest of the suite keeps its order.
    instructor = [item for item in items if Path(str(item.fspath)).name == INSTRUCTOR_MODULE]
    if instructor:
        rest = [item for item in items if item not in instructor]
        browser = [n for n, item in enumerate(rest) if here in Path(str(item.fspath)).parents]
        at = browser[-1] + 1 if browser else len(rest)
        items[:] = rest[:at] + instructor + rest[at:]
    config.stash[WANTS_DEMO] = bool(instructor)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(chromium_context, request):
    chromium_context.clear_cookies()
    page = chromium_context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.problems = problems
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        save_screenshot(page, f"FAILED-{request.node.name}")
    page.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")


def save_screenshot(target, name: str, **kwargs) -> Path:
    """Screenshot a page or a locator into test-artifacts/screenshots/<name>.png."""
    path = screenshot_path(name)
    try:
        target.screenshot(path=str(path), **kwargs)
    except Exception as error:  # a failed screenshot must not hide the real failure
        print(f"could not save screenshot {path}: {error}")
    return path


@pytest.fixture
def shoot():
    return save_screenshot


@pytest.fixture(scope="module")
def student_lab(chromium_context, tmp_path_factory):
    """JupyterLab serving a fresh copy of notebooks/ (the student's home folder)."""
    home = tmp_path_factory.mktemp("student")
    copy_student_edition(home / "work")
    with running_lab(home / "work", home / "server") as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def graded_demo(request, tmp_path_factory):
    """``python -m course_grader demo`` in a temporary course, started early.

    Yields a :class:`BackgroundCommand` whose ``result()`` waits for the demo;
    None when no instructor test was collected or Chromium is missing.
    """
    if not request.config.stash.get(WANTS_DEMO, False) or not CHROMIUM.exists():
        yield None
        return
    folder = tmp_path_factory.mktemp("instructor")
    course = folder / "course"
    env = {key: value for key, value in os.environ.items() if key != "NBGRADER_DB_URL"}
    demo = BackgroundCommand(
        [sys.executable, "-m", "course_grader", "demo", "--dir", str(course)],
        cwd=ROOT, env=env, log_dir=folder)
    demo.course = course
    try:
        yield demo
    finally:
        demo.stop()
