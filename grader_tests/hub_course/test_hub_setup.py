"""The hub as hub/setup_course.py builds it: accounts, exchange, extensions per role."""

from __future__ import annotations

import re
import stat

from playwright.sync_api import expect

from browser.conftest import save_screenshot
from browser.labpage import menu

from .conftest import log_in
from .hubserver import INSTRUCTOR, STUDENT_A, STUDENT_B


def nbgrader_menu_items(page) -> list[str]:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).click()
    items = page.locator(".lm-Menu:visible .lm-Menu-itemLabel").all_inner_texts()
    page.keyboard.press("Escape")
    return [item.strip() for item in items if item.strip()]


def test_accounts_homes_and_exchange_have_the_documented_permissions(hub):
    for user in (INSTRUCTOR, STUDENT_A, STUDENT_B):
        home = hub.home(user)
        assert stat.S_IMODE(home.stat().st_mode) == 0o700, f"{home} is readable by others"
    # nbgrader's docs: the exchange is readable and writable by everyone
    assert stat.S_IMODE(hub.exchange.stat().st_mode) & 0o666 == 0o666
    # and a student cannot look into the other's home
    result = hub.run_as(STUDENT_B, "ls", hub.home(STUDENT_A))
    assert result.returncode != 0 and "Permission denied" in result.stderr


def test_student_sees_assignments_but_no_formgrader(hub, browser_page):
    log_in(browser_page, hub, STUDENT_A)
    items = nbgrader_menu_items(browser_page)
    assert "Assignment List" in items, items
    assert "Formgrader" not in items and "Course List" not in items, items
    menu(browser_page, "Nbgrader", "Assignment List")
    expect(browser_page.locator("#assignments_list_info")).to_be_visible()
    save_screenshot(browser_page, "hub-01-student-assignment-list")
    formgrader = browser_page.request.get(f"{hub.url}/user/{STUDENT_A}/formgrader")
    assert formgrader.status == 404, "the formgrader server extension must be off for students"


def test_instructor_has_formgrader_and_course_list(hub, browser_page):
    log_in(browser_page, hub, INSTRUCTOR)
    items = nbgrader_menu_items(browser_page)
    for wanted in ("Formgrader", "Course List", "Assignment List"):
        assert wanted in items, items
    save_screenshot(browser_page, "hub-02-instructor-lab")
