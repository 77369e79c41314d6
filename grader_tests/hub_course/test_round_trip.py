"""The round trip of a real course on the hub, in Chromium, step by step.

The tests run in order and share the hub: the instructor releases through the
formgrader, student A fetches, types, validates and submits in the Assignments
tab, student B hands in a notebook with two typical mistakes, the instructor
collects, grades with the class grader and releases feedback, and each
student fetches it.  Student B must not reach A's files or feedback.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser.answers import CORRECT, WRONG_RANDOM_SCALE, write_answers
from browser.conftest import save_screenshot
from browser.labpage import NotebookUI, hide_side_panel, menu

from .conftest import log_in
from .hubserver import INSTRUCTOR, STUDENT_A, STUDENT_B

ASSIGNMENT, NOTEBOOK = "initialization", "Initialization.ipynb"
COURSE_ID = "initialization-course"
XAVIER_HE = [
    "scale = np.sqrt(1 / layers_dims[l - 1])",
    'parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * scale',
    'parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))',
]


class UserLab:
    """What NotebookUI needs from a server: the user's home and URLs on the hub."""

    def __init__(self, hub, user):
        self.root = hub.home(user)
        self.prefix = f"{hub.url}/user/{user}"

    def url(self, path: str) -> str:
        return f"{self.prefix}/{path.lstrip('/')}"


def formgrader(page, hub):
    # JupyterHub >= 4.1 forbids the formgrader's iframe inside JupyterLab; nbgrader's
    # docs suggest opening it in a tab of its own, as here
    page.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader")
    expect(page.locator(".col-md-8 .page-header h1")).to_contain_text("Manage Assignments")
    row = page.locator("#main-table tr").filter(
        has=page.locator("td.name", has_text=re.compile(f"^\\s*{ASSIGNMENT}\\s*$")))
    expect(row).to_have_count(1, timeout=90_000)  # the first visit creates the gradebook
    return row


def formgrader_action(page, row, cell: str, message: str) -> None:
    row.locator(f"td.{cell} a").click()
    modal = page.locator("#success-modal:visible, #error-modal:visible")
    expect(modal).to_be_visible(timeout=240_000)  # an error fails at once, not at the timeout
    expect(modal).to_contain_text(message, timeout=1_000)
    save_screenshot(page, f"hub-round-trip-instructor-{cell}")
    modal.locator("button", has_text=re.compile("Close|OK", re.I)).first.click()
    expect(page.locator(".modal:visible")).to_have_count(0)


def assignment_list(page):
    menu(page, "Nbgrader", "Assignment List")
    expect(page.locator("#assignments_list_info")).to_be_visible()
    return page.locator("#assignments")


def test_01_instructor_generates_and_releases(hub, browser_page):
    page = browser_page
    log_in(page, hub, INSTRUCTOR)
    row = formgrader(page, hub)
    formgrader_action(page, row, "assign", "Successfully created the student version")
    formgrader_action(page, row, "release", "Successfully released")
    released = hub.exchange / COURSE_ID / "outbound" / ASSIGNMENT / NOTEBOOK
    assert released.is_file()
    assert "BEGIN HIDDEN TESTS" not in released.read_text()  # students get the release
    save_screenshot(page, "hub-round-trip-01-released")


def test_02_student_a_fetches_types_validates_submits(hub, browser_page):
    page = browser_page
    log_in(page, hub, STUDENT_A)
    panel = assignment_list(page)
    fetch = panel.locator("#released_assignments_list button", has_text="Fetch")
    expect(fetch).to_have_count(1, timeout=60_000)
    save_screenshot(page, "hub-round-trip-02-student-a-released")
    fetch.click()
    notebook = hub.home(STUDENT_A) / ASSIGNMENT / NOTEBOOK
    expect(panel.locator("#fetched_assignments_list .list_item").first).to_be_visible(
        timeout=60_000)
    assert notebook.is_file(), "Fetch should put the assignment in the student's home"

    lab = UserLab(hub, STUDENT_A)
    page.goto(lab.url(f"lab/tree/{ASSIGNMENT}/{NOTEBOOK}?reset"))
    ui = NotebookUI(page, notebook)
    ui.wait_loaded()
    hide_side_panel(page)
    for exercise, body in CORRECT.items():
        ui.type_over_stub(f"{exercise}_answer", body)
    ui.save()
    save_screenshot(page, "hub-round-trip-03-student-a-typed")
    button = page.locator(".jp-NotebookPanel:visible .jp-Toolbar-item .validate-button")
    button.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-body")).to_contain_text(
        "Success! Your notebook passes all the tests.", timeout=300_000)
    save_screenshot(page, "hub-round-trip-04-student-a-validated")
    dialog.get_by_role("button", name="Ok").click()

    panel = assignment_list(page)
    submit = panel.locator("#fetched_assignments_list button", has_text="Submit")
    expect(submit).to_have_count(1)
    submit.click()
    expect(panel.locator("#submitted_assignments_list .list_item")).not_to_have_count(
        0, timeout=60_000)
    save_screenshot(page, "hub-round-trip-05-student-a-submitted")


def test_03_student_b_hands_in_two_typical_mistakes(hub):
    fetched = hub.run_as(STUDENT_B, "nbgrader", "fetch_assignment", ASSIGNMENT)
    assert fetched.returncode == 0, fetched.stderr
    notebook = hub.home(STUDENT_B) / ASSIGNMENT / NOTEBOOK
    write_answers(notebook, {"zeros": CORRECT["zeros"], "random": WRONG_RANDOM_SCALE,
                             "he": XAVIER_HE})
    submitted = hub.run_as(STUDENT_B, "nbgrader", "submit", ASSIGNMENT)
    assert submitted.returncode == 0, submitted.stderr


def test_04_instructor_collects_grades_and_releases_feedback(hub, browser_page):
    page = browser_page
    log_in(page, hub, INSTRUCTOR)
    row = formgrader(page, hub)
    formgrader_action(page, row, "collect", "Successfully collected")
    for student in (STUDENT_A, STUDENT_B):
        folder = hub.course / "submitted" / student / ASSIGNMENT
        assert (folder / NOTEBOOK).is_file() and (folder / "timestamp.txt").is_file()

    # as the instructor's own (non-root) account: bubblewrap's unprivileged path
    graded = hub.run_as(INSTRUCTOR, "python", "-m", "course_grader", "grade", ASSIGNMENT,
                        "--course", hub.course, "--workers", "2", "--no-progress",
                        cwd=hub.course)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    for student in (STUDENT_A, STUDENT_B):
        html = hub.course / "feedback" / student / ASSIGNMENT / "Initialization.html"
        log = hub.course / "build" / "batch" / ASSIGNMENT / "logs" / f"{student}.log"
        assert html.is_file(), graded.stdout[-1500:] + (
            log.read_text()[-3000:] if log.exists() else "")

    row = formgrader(page, hub)
    formgrader_action(page, row, "release-feedback", "Successfully released feedback")
    row.locator("td.num-submissions a").click()
    rows = page.locator("#main-table tr")
    expect(rows).to_have_count(2)
    for n in range(2):  # the exchange's timestamps fill the formgrader's column
        expect(rows.nth(n).locator("td.timestamp")).to_have_text(re.compile(r"\d{4}-\d\d-\d\d"))
    save_screenshot(page, "hub-round-trip-06-instructor-submissions")


def fetch_feedback(hub, page, user) -> str:
    log_in(page, hub, user)
    panel = assignment_list(page)
    button = panel.locator("#submitted_assignments_list button", has_text="Fetch Feedback")
    expect(button).to_have_count(1, timeout=60_000)
    button.click()
    expect(panel.locator("#submitted_assignments_list")).to_contain_text(
        "view feedback", timeout=60_000)
    save_screenshot(page, f"hub-round-trip-07-{user}-feedback-fetched")
    found = sorted((hub.home(user) / ASSIGNMENT / "feedback").glob("*/Initialization.html"))
    assert len(found) == 1, found
    relative = found[0].relative_to(hub.home(user))
    page.goto(f"{hub.url}/user/{user}/files/{relative}")
    text = page.locator("body").inner_text()
    save_screenshot(page, f"hub-round-trip-08-{user}-feedback", full_page=True)
    return text


@pytest.mark.parametrize("user, score", [(STUDENT_A, 30), (STUDENT_B, 18)])
def test_05_students_fetch_feedback_with_score_and_diagnosis(hub, browser_page, user, score):
    text = fetch_feedback(hub, browser_page, user)
    assert re.search(rf"Score: {score}(\.0)? / 30(\.0)?", text), text[:2000]
    if user == STUDENT_B:
        assert "scale" in text and "Xavier" in text, text


def test_06_student_b_cannot_reach_a_files_or_feedback(hub, browser_page):
    page = browser_page
    log_in(page, hub, STUDENT_B)
    home_a = hub.home(STUDENT_A)
    targets = [home_a / ASSIGNMENT / NOTEBOOK, *(home_a / ASSIGNMENT / "feedback").glob("*/*.html")]
    for target in targets:
        response = page.goto(f"{hub.url}/user/{STUDENT_A}/files/{target.relative_to(home_a)}")
        body = page.locator("body").inner_text()
        # the hub refuses, or sends B back to B's own server: never A's content
        assert "initialize_parameters" not in body and "Score" not in body, body[:500]
        assert response.status in (403, 404) or f"/user/{STUDENT_B}/" in page.url, page.url
        save_screenshot(page, f"hub-round-trip-09-student-b-refused-{target.suffix[1:]}")
        read = hub.run_as(STUDENT_B, "cat", target)
        assert read.returncode != 0 and "Permission denied" in read.stderr, target
    # the file system: A's home and the exchange's inbound are closed to B
    for target in (home_a, hub.exchange / COURSE_ID / "inbound"):
        listed = hub.run_as(STUDENT_B, "ls", target)
        assert listed.returncode != 0 and "Permission denied" in listed.stderr, target
