"""The trusted intake against hostile students with real Unix accounts and real nbgrader.

The course is set up with hub/setup_course.py's own functions (accounts, the
shared venv, the exchange, the instructor's course folder and its config);
students fetch and submit with ``nbgrader`` as themselves (``runuser``) and
attack with their own shell rights; the instructor collects with ``nbgrader
collect`` and the course config, and takes one submission at arrival with the
piece a hub service calls (``python -m course_grader.exchange``). No hub or
browser is started. Needs root; about a minute once the venv exists (first
build 1-3 min, kept in /var/tmp between runs).
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from course_grader.batch.report import refused_submissions
from course_grader.exchange.arrival import read_records
from course_grader.exchange.intake import store_of
from course_grader.timestamps import read_timestamp

pytestmark = [pytest.mark.accounts, pytest.mark.nbgrader]

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("COURSE_INTAKE_VENV", "/var/tmp/initialization-course-intake-venv"))
A = "initialization"
TEACHER = "ci-teacher"
ANN, BOB, DAN, EVE, FAY, GIL = (f"ci-{n}" for n in ("ann", "bob", "dan", "eve", "fay", "gil"))
STUDENTS = [ANN, BOB, DAN, EVE, FAY, GIL]


def _setup_module():
    spec = importlib.util.spec_from_file_location("setup_course", ROOT / "hub" / "setup_course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _remove_accounts(users):
    from hub_course.hubserver import remove_accounts
    remove_accounts(users)


class Course:
    def __init__(self, prefix: Path, course: Path):
        self.prefix, self.course = prefix, course
        self.exchange = prefix / "exchange"
        self.inbound = self.exchange / "initialization-course" / "inbound"
        self.times: dict[str, tuple[float, float]] = {}

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    def run_as(self, user, *cmd, cwd=None, check=True) -> subprocess.CompletedProcess:
        env = {"HOME": str(self.home(user)), "USER": user, "LANG": "C.UTF-8",
               "PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin",
               "JUPYTER_CONFIG_PATH": str(self.prefix / "etc" / "jupyter"),
               "NBGRADER_EXCHANGE_ROOT": str(self.exchange)}
        done = subprocess.run(["runuser", "-u", user, "--", "env", "-i",
                               *[f"{k}={v}" for k, v in env.items()], *map(str, cmd)],
                              cwd=cwd or self.home(user), capture_output=True, text=True,
                              timeout=300)
        if check and done.returncode != 0:
            raise AssertionError(f"{cmd} as {user} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def sh(self, user, script: str) -> subprocess.CompletedProcess:
        return self.run_as(user, "sh", "-ec", script)

    def submit(self, user, *extra) -> str:
        before = time.time()
        self.run_as(user, "nbgrader", "submit", A, *extra)
        self.times[user] = (before, time.time())
        return self.folder_of(extra[-1].split("=")[1] if extra else user, newest=True)

    def folder_of(self, claimed: str, newest=False) -> str:
        names = sorted((p for p in os.listdir(self.inbound) if p.startswith(f"{claimed}+{A}+")),
                       key=lambda n: os.lstat(self.inbound / n).st_ctime)
        return names[-1]

    def submitted(self, student: str) -> Path:
        return self.course / "submitted" / student / A


def _feedback_of(course: Course, user: str) -> list[str]:
    course.run_as(user, "nbgrader", "fetch_feedback", A)
    return [p.read_text() for p in (course.home(user) / A / "feedback").rglob("*.html")]


@pytest.fixture(scope="module")
def course():
    if os.geteuid() != 0:
        pytest.skip("creates Unix accounts and runs commands as them: run as root")
    for tool in ("runuser", "useradd", "userdel"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing")
    users = [TEACHER, *STUDENTS]
    _remove_accounts(users)
    setup = _setup_module()
    prefix = Path(tempfile.mkdtemp(prefix="course-intake-", dir="/var/tmp"))
    prefix.chmod(0o755)
    try:
        setup.make_venv(VENV)
        setup.write_global_config(prefix, prefix / "exchange")
        setup.make_exchange(prefix / "exchange")
        for user in users:
            setup.make_user(user)
        c = Course(prefix, setup.setup_instructor(TEACHER, VENV))
        c.run_as(TEACHER, "nbgrader", "generate_assignment", A, cwd=c.course)
        c.run_as(TEACHER, "nbgrader", "release_assignment", A, cwd=c.course)
        for user in STUDENTS:
            c.run_as(user, "nbgrader", "fetch_assignment", A)
        _attack(c)
        yield c
    finally:
        _remove_accounts(users)
        shutil.rmtree(prefix, ignore_errors=True)


def _attack(c: Course) -> None:
    """Every student's move, in order; then the instructor collects."""
    nb = f"{A}/Initialization.ipynb"
    # ann submits; a service takes it at once; then she writes into her inbound folder
    c.sh(ANN, f"echo '# ann original' >> {A}/model.py")
    ann_folder = c.submit(ANN)
    c.at_arrival = c.run_as(TEACHER, VENV / "bin" / "python", "-m", "course_grader.exchange",
                            A, "--course", c.course, "--exchange", c.exchange, "--settle", "0")
    c.ann_taken = time.time()
    c.sh(ANN, f"echo '# ann LATER' >> '{c.inbound / ann_folder}/model.py'")
    # bob submits honestly; eve submits in bob's name and backdates another folder as bob
    c.sh(BOB, f"echo '# bob own work' >> {A}/model.py")
    c.bob_folder = c.submit(BOB)
    c.sh(EVE, f"echo '# eve work' >> {A}/model.py")
    c.submit(EVE, f"--student={BOB}")
    master = c.course / "source" / A / "Initialization.ipynb"
    bob_inbound = c.inbound / c.bob_folder
    eve = f"{c.inbound}/{EVE}+{A}+2020-01-01 00:00:00.000000 UTC"
    base = (f"cp -r {A} \"$F\"; echo 2020-01-01 00:00:00.000000 UTC > \"$F/timestamp.txt\"; "
            "echo " + "ab" * 32 + " > \"$F/submission_secret.txt\"")
    c.sh(EVE, "\n".join([
        f"F='{c.inbound}/{BOB}+{A}+2020-01-01 00:00:00.000000 UTC+bd'; {base}",
        f"F='{eve}+master'; {base}; rm \"$F/Initialization.ipynb\"; "
        f"ln -s {master} \"$F/Initialization.ipynb\"",
        f"F='{eve}+bobfile'; {base}; rm \"$F/Initialization.ipynb\"; "
        f"ln -s '{bob_inbound}/Initialization.ipynb' \"$F/Initialization.ipynb\"",
        f"ln -s '{bob_inbound}' '{eve}+bobdir'",
        f"F='{eve}+fifo'; {base}; mkfifo \"$F/pipe\"",
        f"F='{eve}+huge'; {base}; truncate -s 64M \"$F/big.bin\"",
        f"F='{eve}+many'; {base}; for i in $(seq 1000); do mkdir \"$F/d$i\"; done",
        f"F='{eve}+hard'; {base}; echo x > ~/mine.txt; ln ~/mine.txt \"$F/mine.txt\"",
    ]))
    # dan hands in a folder with a backdated name, timestamp.txt and mtimes
    c.dan_before = time.time()
    c.sh(DAN, f"F='{c.inbound}/{DAN}+{A}+2020-01-01 00:00:00.000000 UTC+bd'; "
              f"echo '# dan work' >> {A}/model.py; {base}; touch -d 2020-01-01 \"$F\"/*")
    # fay submits a 40 MiB file with nbgrader's own Submit; gil a notebook that is not JSON
    c.sh(FAY, f"head -c 41943040 /dev/zero > {A}/big.bin")
    c.submit(FAY)
    c.sh(GIL, f"echo 'not a notebook {{' > {nb}")
    c.submit(GIL)
    time.sleep(2.1)  # collect leaves folders changed within the last 2 s for its next run
    c.collect = c.run_as(TEACHER, "nbgrader", "collect", A)
    c.collect_log = c.collect.stdout + c.collect.stderr
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "intake-collect.log").write_text(c.at_arrival.stdout + c.collect_log)


def test_the_hub_course_config_collects_through_the_intake(course):
    config = (course.course / "nbgrader_config.py").read_text()
    assert 'c.ExchangeFactory.collect = "course_grader.exchange.collect.TrustedCollect"' in config
    assert "Accepted a submission of" in course.collect_log


def test_at_arrival_piece_takes_ann_and_later_writes_change_nothing(course):
    assert f"accepted {ANN}" in course.at_arrival.stdout and "(arrival clock)" in \
        course.at_arrival.stdout
    model = (course.submitted(ANN) / "model.py").read_text()
    assert "# ann original" in model and "ann LATER" not in model
    when = read_timestamp(course.submitted(ANN)).timestamp()
    assert course.times[ANN][0] - 1 <= when <= course.ann_taken + 1


def test_bob_keeps_his_own_submission_and_time(course):
    model = (course.submitted(BOB) / "model.py").read_text()
    assert "# bob own work" in model and "eve work" not in model
    when = read_timestamp(course.submitted(BOB)).timestamp()
    start, end = course.times[BOB]
    assert start - 1 <= when <= end + 1  # change time of his folder, not 2020, not eve's
    assert _feedback_of(course, BOB) == []  # nothing of eve's refusals reaches bob


def test_every_attack_of_eve_is_refused_and_the_instructor_told_why(course):
    assert not course.submitted(EVE).exists()
    log = course.collect_log
    reasons = [a.reason for a in read_records(store_of(course.course), A) if a.student == EVE]
    for expected in ["belongs to the account 'ci-eve'", "symbolic link", "not a folder",
                     "FIFO", "larger than", "more than 200", "hard link"]:
        assert any(expected in r for r in reasons), (expected, reasons)
        assert expected in log, expected
    # two folders name bob (nbgrader submit --student and the backdated one)
    assert sum("belongs to the account 'ci-eve'" in r for r in reasons) == 2
    report = refused_submissions(course.course, A)
    assert report.count(EVE) >= 8 and "FIFO" in report


def test_master_notebook_reaches_no_submitted_folder(course):
    master = (course.course / "source" / A / "Initialization.ipynb").read_bytes()
    for path in (course.course / "submitted").rglob("*"):
        assert not path.is_symlink()
        if path.is_file():
            assert path.read_bytes() != master, path


def test_backdated_folder_is_collected_with_the_true_time(course):
    when = read_timestamp(course.submitted(DAN)).timestamp()
    assert when >= course.dan_before - 1  # not 2020: name, timestamp.txt, mtimes ignored
    record = [a for a in read_records(store_of(course.course), A) if a.student == DAN][0]
    assert "2020" in record.notes["timestamp.txt"] and record.time_source == "change time"


def test_refused_students_read_why_with_fetch_feedback(course):
    pages = _feedback_of(course, EVE)
    assert pages and all("not accepted" in p for p in pages)
    assert any("belongs to the account" in p for p in pages)
    fay = _feedback_of(course, FAY)
    assert fay and "larger than 32 MiB" in fay[0]
    assert not course.submitted(FAY).exists()


def test_malformed_notebook_is_accepted_for_the_grader_to_report(course):
    # the intake judges files, not their content: the class grader's preflight
    # reports a notebook that is not JSON, with a reason, as it does for any upload
    assert (course.submitted(GIL) / "Initialization.ipynb").read_text().startswith(
        "not a notebook")


def test_collect_again_records_nothing_new_and_changes_nothing(course):
    before = {s: (course.submitted(s) / "timestamp.txt").read_text() for s in (ANN, BOB, DAN)}
    count = len(read_records(store_of(course.course), A))
    again = course.run_as(TEACHER, "nbgrader", "collect", "--update", A)
    assert "REFUSED" not in again.stdout + again.stderr
    assert len(read_records(store_of(course.course), A)) == count
    assert before == {s: (course.submitted(s) / "timestamp.txt").read_text()
                      for s in (ANN, BOB, DAN)}
    assert json.loads((course.course / "intake" / A / read_records(
        store_of(course.course), A)[0].key / "record.json").read_text())["assignment"] == A
