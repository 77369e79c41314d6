"""Grade on submit on the course's hub, with real accounts: the hub's managed service.

A hub of its own (accounts gs-*, prefix /var/tmp/gos-hub-*, venv
/var/tmp/initialization-course-gos-venv) so these tests never meet the other
hub or accounts tests. The tests run in order and share it:

1. the service the hub started idles; the instructor names the assignment in
   the course config (as ``setup_course.py --grade-on-submit`` writes it) and
   the service starts grading, as the instructor's account;
2. in Chromium a student presses Submit, then Fetch Feedback, and reads the
   diagnosis within FEEDBACK_BOUND seconds; a classmate's feedback stays out
   of her reach (file system, the hub, ``nbgrader fetch_feedback``);
3. attacks with ``nbgrader submit`` as the students (``runuser``): one account
   submitting every 0.1 s, several accounts at once with a malformed
   notebook among them, a submission arriving while its author's previous one
   is graded; each time the others are graded within DELAY_BOUND and the
   queue (the instructor's view) says why for every submission;
4. the service is killed (SIGKILL) mid-grade: the hub starts it again and
   every submission is graded exactly once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser.answers import CORRECT, WRONG_RANDOM_SCALE, write_answers
from browser.conftest import save_screenshot

from .conftest import log_in, need_hub_tools
from .hubserver import ROOT, running_hub
from .test_round_trip import assignment_list

ASSIGNMENT, NOTEBOOK = "initialization", "Initialization.ipynb"
TEACHER = "gs-teacher"
ANN, BEN, CID, DAN, EVE = (f"gs-{n}" for n in ("ann", "ben", "cid", "dan", "eve"))
STUDENTS = (ANN, BEN, CID, DAN, EVE)
VENV = Path(os.environ.get("COURSE_GOS_VENV", "/var/tmp/initialization-course-gos-venv"))
COOLDOWN = 15  # the tests' policy: a short cooldown so rationing shows in seconds
# seconds from the end of `nbgrader submit` to the feedback in the student's hands, on
# this 2-core machine shared with other test runs (alone it is a few seconds)
FEEDBACK_BOUND = 60
# what another student's flood or a crowd may add to an honest student's wait
DELAY_BOUND = 90
SERVICE_START_BOUND = 240  # the service's start: the class grader's canaries, once

LATENCIES: dict[str, float] = {}


@pytest.fixture(scope="module")
def gos():
    need_hub_tools()
    with running_hub(instructor=TEACHER, students=STUDENTS, venv=VENV,
                     prefix_name="gos-hub-") as hub:
        yield hub
    if LATENCIES:
        print("submit-to-feedback through the hub:",
              ", ".join(f"{k} {v:.1f} s" for k, v in LATENCIES.items()))


# ---------------------------------------------------------------- helpers

def queue_rows(hub, student: str | None = None) -> list[dict]:
    path = hub.course / "build" / "service" / "queue.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM arrivals ORDER BY arrived")]
    return [r for r in rows if student is None or r["student"] == student]


def wait_for(condition, seconds: float, what: str, hub, step: float = 0.5):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s\nqueue: "
                                 f"{json.dumps(queue_rows(hub), indent=1)[-3000:]}\n"
                                 f"hub log:\n{hub.log_tail(60)}")
        time.sleep(step)


def service_pids(hub) -> list[int]:
    """Processes running the grade-on-submit service of this hub's course (and nothing else)."""
    wanted = ["-m", "course_grader.service", "--course", str(hub.course)]
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(args[i:i + len(wanted)] == wanted for i in range(len(args))):
            found.append(int(entry.name))
    return found


def owner_uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))


def submit(hub, student: str) -> float:
    done = hub.run_as(student, "nbgrader", "submit", ASSIGNMENT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return time.monotonic()


def feedback_pages(hub, student: str) -> dict[str, str]:
    folder = hub.home(student) / ASSIGNMENT / "feedback"
    return {p.parent.name: p.read_text() for p in sorted(folder.glob("*/*.html"))}


def fetch_until(hub, student: str, count: int, seconds: float) -> dict[str, str]:
    """``nbgrader fetch_feedback`` as the student until ``count`` pages are there."""
    def fetched():
        hub.run_as(student, "nbgrader", "fetch_feedback", ASSIGNMENT, timeout=120)
        pages = feedback_pages(hub, student)
        return pages if len(pages) >= count else None
    return wait_for(fetched, seconds, f"{count} feedback page(s) for {student}", hub, step=1)


def served(hub, student: str) -> int:
    """Submissions of the student graded or failed: each has its page to fetch."""
    return sum(r["state"] in ("done", "failed") for r in queue_rows(hub, student))


def settled(hub, students) -> bool:
    rows = [r for r in queue_rows(hub) if r["student"] in students]
    return bool(rows) and all(r["state"] not in ("waiting", "grading") for r in rows)


# ---------------------------------------------------------------- 1. turning it on

def test_01_instructor_turns_grading_on_in_the_course_config(gos):
    hub = gos
    pids = wait_for(lambda: service_pids(hub), 60, "the hub starts the service", hub)
    teacher_uid = hub.run_as(TEACHER, "id", "-u").stdout.strip()
    assert all(str(owner_uid(pid)) == teacher_uid for pid in pids), "not the instructor's"
    wait_for(lambda: "grade on submit is off" in hub.log_path.read_text(), 60,
             "the idle service says it is off", hub)

    for command in (["generate_assignment", ASSIGNMENT], ["release_assignment", ASSIGNMENT]):
        done = hub.run_as(TEACHER, "nbgrader", *command, "--force", cwd=hub.course)
        assert done.returncode == 0, done.stdout + done.stderr
    for student in STUDENTS:
        done = hub.run_as(student, "nbgrader", "fetch_assignment", ASSIGNMENT)
        assert done.returncode == 0, done.stderr

    # what `setup_course.py --grade-on-submit initialization` writes, then the
    # instructor's own edit (a short cooldown for the test)
    setup = _setup_module()
    setup.write_course_config(hub.course, [ASSIGNMENT])
    config = hub.course / "nbgrader_config.py"
    text = config.read_text()
    assert "c.GradeOnSubmit.assignments = ['initialization']" in text
    assert "c.GradeOnSubmit.show_score = False" in text
    config.write_text(text.replace("cooldown_seconds = 120", f"cooldown_seconds = {COOLDOWN}"))
    wait_for(lambda: "grading initialization on submit" in hub.log_path.read_text(),
             SERVICE_START_BOUND, "the service starts grading after the config names it", hub)
    pids = service_pids(hub)
    assert len(pids) == 1 and str(owner_uid(pids[0])) == teacher_uid


def _setup_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("setup_course", ROOT / "hub" / "setup_course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- 2. in Chromium

def test_02_submit_then_fetch_feedback_in_the_assignments_tab(gos, browser_page):
    hub, page = gos, browser_page
    write_answers(hub.home(ANN) / ASSIGNMENT / NOTEBOOK, CORRECT)
    log_in(page, hub, ANN)
    panel = assignment_list(page)
    submit_button = panel.locator("#fetched_assignments_list button", has_text="Submit")
    expect(submit_button).to_have_count(1, timeout=60_000)
    submit_button.click()
    expect(panel.locator("#submitted_assignments_list .list_item")).not_to_have_count(
        0, timeout=60_000)
    submitted = time.monotonic()
    save_screenshot(page, "hub-grade-on-submit-01-submitted")

    fetch = panel.locator("#submitted_assignments_list button", has_text="Fetch Feedback")
    deadline = submitted + FEEDBACK_BOUND
    while True:  # the student presses Fetch Feedback until the feedback is there
        expect(fetch.first).to_be_visible(timeout=30_000)
        fetch.first.click()
        try:
            expect(panel.locator("#submitted_assignments_list")).to_contain_text(
                "view feedback", timeout=3_000)
            break
        except AssertionError:
            assert time.monotonic() < deadline, (
                f"no feedback {FEEDBACK_BOUND} s after Submit: {queue_rows(hub)}\n"
                f"{hub.log_tail(40)}")
            panel = assignment_list(page)
            fetch = panel.locator("#submitted_assignments_list button", has_text="Fetch Feedback")
    LATENCIES["Chromium, Submit to 'view feedback'"] = time.monotonic() - submitted
    save_screenshot(page, "hub-grade-on-submit-02-feedback-fetched")

    pages = feedback_pages(hub, ANN)
    assert len(pages) == 1, pages
    stamp = next(iter(pages))
    page.goto(f"{hub.url}/user/{ANN}/files/{ASSIGNMENT}/feedback/{stamp}/Initialization.html")
    body = page.locator("body").inner_text()
    save_screenshot(page, "hub-grade-on-submit-03-diagnosis", full_page=True)
    assert "checked on submit" in page.title() or "your submission of" in body, body[:1000]
    assert body.count("every hidden check passed") == 3, body[:2000]
    assert "Total" not in body and "points" not in body  # the default: no score shown
    [row] = queue_rows(hub, ANN)
    assert row["state"] == "done" and row["attempts"] == 1, row


def test_03_a_classmates_feedback_is_out_of_reach(gos, browser_page):
    hub = gos
    write_answers(hub.home(BEN) / ASSIGNMENT / NOTEBOOK,
                  {"zeros": CORRECT["zeros"], "random": WRONG_RANDOM_SCALE, "he": CORRECT["he"]})
    submitted = submit(hub, BEN)
    ben_pages = fetch_until(hub, BEN, 1, FEEDBACK_BOUND)
    LATENCIES["nbgrader submit to fetch_feedback"] = time.monotonic() - submitted
    ben_page = next(iter(ben_pages.values()))
    assert "not yet right" in ben_page and "every hidden check passed" in ben_page

    # as Ann: nbgrader in Ben's name, the exchange's feedback folder, Ben's home
    before = feedback_pages(hub, ANN)
    tried = hub.run_as(ANN, "nbgrader", "fetch_feedback", ASSIGNMENT, f"--student={BEN}")
    after = feedback_pages(hub, ANN)
    assert all("not yet right" not in text for text in after.values()), tried.stdout
    assert set(after) == set(before)
    assert not (hub.home(ANN) / ASSIGNMENT / "feedback").exists() or \
        not any(p for p in (hub.home(ANN)).rglob("*.html") if "not yet right" in p.read_text())
    feedback_root = hub.exchange / "initialization-course" / "feedback"
    listed = hub.run_as(ANN, "ls", feedback_root)
    assert listed.returncode != 0 and "Permission denied" in listed.stderr, listed.stdout
    ben_file = next((hub.home(BEN) / ASSIGNMENT / "feedback").glob("*/*.html"))
    read = hub.run_as(ANN, "cat", ben_file)
    assert read.returncode != 0 and "Permission denied" in read.stderr
    # the hub: Ann's browser asking for Ben's server gets Ben's page from nobody
    page = browser_page
    log_in(page, hub, ANN)
    response = page.goto(f"{hub.url}/user/{BEN}/files/"
                         f"{ben_file.relative_to(hub.home(BEN))}")
    body = page.locator("body").inner_text()
    assert "not yet right" not in body, body[:500]
    assert response.status in (403, 404) or f"/user/{ANN}/" in page.url, page.url
    save_screenshot(page, "hub-grade-on-submit-04-classmate-refused")


# ---------------------------------------------------------------- 3. attacks

def test_04_one_account_submitting_every_tenth_of_a_second(gos):
    hub = gos
    write_answers(hub.home(CID) / ASSIGNMENT / NOTEBOOK, CORRECT)
    write_answers(hub.home(DAN) / ASSIGNMENT / NOTEBOOK, CORRECT)
    flood = threading.Thread(target=lambda: hub.run_as(
        CID, "bash", "-c", f"for i in $(seq 25); do nbgrader submit {ASSIGNMENT} "
        ">/dev/null 2>&1 & sleep 0.1; done; wait", timeout=600))
    started = time.monotonic()
    flood.start()
    time.sleep(2)
    dan_submitted = submit(hub, DAN)  # an honest classmate during the flood
    fetch_until(hub, DAN, 1, DELAY_BOUND)
    dan_wait = time.monotonic() - dan_submitted
    LATENCIES["honest student during a 0.1 s flood"] = dan_wait
    flood.join()
    wait_for(lambda: settled(hub, {CID}), DELAY_BOUND + 2 * COOLDOWN,
             "the flood's newest submission graded", hub)
    elapsed = time.monotonic() - started
    rows = queue_rows(hub, CID)
    served = [r for r in rows if r["state"] in ("done", "failed")]
    superseded = [r for r in rows if r["state"] == "superseded"]
    assert len(rows) >= 10, f"the flood reached the queue {len(rows)} times"
    # rationed: one grading, then at most one per cooldown
    assert 1 <= len(served) <= 1 + elapsed / COOLDOWN, (len(served), elapsed)
    assert all(r["note"] == "a newer submission arrived" for r in superseded)
    assert max(rows, key=lambda r: r["arrived"])["state"] == "done"  # the newest counts
    [dan] = queue_rows(hub, DAN)
    assert dan["state"] == "done" and dan_wait < DELAY_BOUND


def test_05_many_accounts_at_once_with_a_malformed_notebook(gos):
    hub = gos
    notebook = hub.home(EVE) / ASSIGNMENT / NOTEBOOK
    notebook.write_text('{"cells": [ this is not json')
    before = {s: len(queue_rows(hub, s)) for s in (ANN, BEN, DAN, EVE)}
    time.sleep(COOLDOWN)  # past each student's cooldown: every one is served now
    ends: dict[str, float] = {}

    def hand_in(student):
        ends[student] = submit(hub, student)

    threads = [threading.Thread(target=hand_in, args=(s,)) for s in (ANN, BEN, DAN, EVE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: settled(hub, {ANN, BEN, DAN, EVE})
             and all(len(queue_rows(hub, s)) > before[s] for s in before),
             DELAY_BOUND, "four students at once graded", hub)
    finished = time.monotonic()
    LATENCIES["4 accounts at once, last one"] = finished - min(ends.values())
    for student in (ANN, BEN, DAN):
        newest = queue_rows(hub, student)[-1]
        assert newest["state"] == "done", newest
    eve = queue_rows(hub, EVE)[-1]
    assert eve["state"] == "failed" and eve["note"], eve  # the instructor reads why
    pages = fetch_until(hub, EVE, 1, FEEDBACK_BOUND)
    text = next(iter(pages.values()))
    assert "could not be graded" in text, text[:1000]  # and so does Eve


def test_06_a_submission_arriving_while_the_previous_is_graded(gos):
    hub = gos
    count = len(queue_rows(hub, BEN))
    had = len(feedback_pages(hub, BEN))
    # an answer that takes its time, so that the next Submit lands during its grading
    slow = ['__import__("time").sleep(3)', *CORRECT["he"]]
    notebook = hub.home(BEN) / ASSIGNMENT / NOTEBOOK
    released = hub.exchange / "initialization-course" / "outbound" / ASSIGNMENT / NOTEBOOK
    notebook.write_text(released.read_text())  # the released stubs again, Ben's file
    write_answers(notebook, {"zeros": CORRECT["zeros"], "random": CORRECT["random"],
                             "he": slow})
    time.sleep(COOLDOWN)
    submit(hub, BEN)
    wait_for(lambda: any(r["state"] == "grading" for r in queue_rows(hub, BEN)[count:]), 60,
             "Ben's first submission being graded", hub, step=0.1)
    submit(hub, BEN)
    wait_for(lambda: len(queue_rows(hub, BEN)[count:]) == 2, 30,
             "Ben's second submission taken", hub, step=0.2)
    wait_for(lambda: settled(hub, {BEN}), DELAY_BOUND + COOLDOWN,
             "both of Ben's submissions closed", hub)
    first, second = queue_rows(hub, BEN)[count:]
    assert second["arrived"] < first["finished"], "the second did not arrive during grading"
    # neither dropped nor graded beside the first: the first's grading finished and was
    # released, then the second was graded once, after it
    assert first["state"] == "done" and second["state"] == "done", (first, second)
    assert second["started"] >= first["finished"], (first, second)
    assert first["attempts"] == 1 and second["attempts"] == 1
    pages = fetch_until(hub, BEN, served(hub, BEN), FEEDBACK_BOUND)
    assert len(pages) == served(hub, BEN) >= had + 2


# ---------------------------------------------------------------- 4. killed mid-grade

def test_07_service_killed_mid_grade_is_restarted_and_grades_once(gos):
    hub = gos
    count = len(queue_rows(hub, ANN))
    pages_before = len(feedback_pages(hub, ANN))
    time.sleep(COOLDOWN)
    [old] = service_pids(hub)
    submit(hub, ANN)
    wait_for(lambda: any(r["state"] == "grading" for r in queue_rows(hub, ANN)[count:]), 60,
             "Ann's submission being graded", hub, step=0.05)
    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    new = wait_for(lambda: [p for p in service_pids(hub) if p != old], 60,
                   "the hub starts the service again", hub)
    wait_for(lambda: settled(hub, {ANN}), SERVICE_START_BOUND,
             "Ann's submission graded after the restart", hub)
    LATENCIES["kill to graded again"] = time.monotonic() - killed
    rows = queue_rows(hub, ANN)[count:]
    assert len(rows) == 1 and rows[0]["state"] == "done", rows
    assert rows[0]["attempts"] == 2, rows  # interrupted once, graded once more
    assert "was interrupted" in hub.log_path.read_text()
    assert len(new) == 1
    pages = fetch_until(hub, ANN, served(hub, ANN), FEEDBACK_BOUND)
    assert len(pages) == served(hub, ANN) >= pages_before + 1  # one page per submission
    # every submission of the module is closed exactly once, none open or lost
    states = [r["state"] for r in queue_rows(hub)]
    assert "grading" not in states and "waiting" not in states, states
    graded = hub.run_as(TEACHER, "python", "-c",
                        "import sys; from nbgrader.api import Gradebook\n"
                        f"with Gradebook(sys.argv[1]) as gb:\n"
                        f"    print(' '.join(s.student_id for s in "
                        f"gb.assignment_submissions({ASSIGNMENT!r})))",
                        _db_url(hub), cwd=hub.course)
    assert graded.returncode == 0, graded.stderr
    done_students = {r["student"] for r in queue_rows(hub) if r["state"] == "done"}
    recorded = graded.stdout.split()
    assert len(recorded) == len(set(recorded)) and done_students <= set(recorded), recorded


def _db_url(hub) -> str:
    found = hub.run_as(TEACHER, "python", "-c",
                       "import sys; from course_grader.batch.coordinator import configured_db_url;"
                       "from course_grader.gradebook import driver_url; from pathlib import Path;"
                       "print(driver_url(configured_db_url(Path(sys.argv[1]))))",
                       hub.course, cwd=hub.course)
    assert found.returncode == 0, found.stderr
    return found.stdout.strip()


# ---------------------------------------------------------------- 5. the service's own cluster

def _tree(root: int) -> set[int]:
    """``root`` and every process below it (the service's Dask scheduler, nanny, worker)."""
    parents = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = re.search(r"^PPid:\s+(\d+)", (entry / "status").read_text(), re.M)
        except OSError:
            continue
        parents[int(entry.name)] = int(ppid.group(1))
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    return tree


def test_08_students_cannot_use_the_services_grading_cluster(gos):
    """A student's shell cannot send the service's workers code (they run as the instructor)."""
    hub = gos
    [service] = service_pids(hub)
    tree = _tree(service)
    listening = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
    ports = sorted({int(m.group(1)) for line in listening.splitlines()
                    if any(f"pid={pid}," in line for pid in tree)
                    for m in [re.search(r"127\.0\.0\.1:(\d+)", line)] if m})
    assert ports, listening  # the scheduler and the worker listen on loopback
    # each attempt in a thread of its own: a port that never answers (HTTP, or TLS
    # waiting for its handshake) counts as refused after 20 s
    probe = """
import os, sys, threading
from distributed import Client

def attempt(address, said):
    try:
        client = Client(address, timeout=5)
        said.append(f"RAN AS {client.run(os.getuid)}")
    except Exception as error:
        said.append(type(error).__name__)

for port in sys.argv[1:]:
    for scheme in ("tcp", "tls"):
        said = []
        worker = threading.Thread(target=attempt, args=(f"{scheme}://127.0.0.1:{port}", said),
                                  daemon=True)
        worker.start()
        worker.join(20)
        print(said[0] if said and said[0].startswith("RAN AS") else
              f"refused {scheme} {port} {said[0] if said else 'no answer'}", flush=True)
os._exit(0)
"""
    tried = hub.run_as(CID, "python", "-c", probe, *map(str, ports), timeout=300)
    assert "RAN AS" not in tried.stdout, tried.stdout
    assert tried.stdout.count("refused") == 2 * len(ports), tried.stdout + tried.stderr[-2000:]
