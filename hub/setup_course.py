#!/usr/bin/env python3
"""Set up the Initialization course on a JupyterHub of its own (run as root).

    sudo python3 hub/setup_course.py --prefix /srv/initialization-hub \\
        --instructor teacher --students alice,bob
    sudo hub/start_hub.sh /srv/initialization-hub        # then open http://<host>:8000

It does what nbgrader's documentation asks for a course with one instructor
("Using nbgrader with JupyterHub", "Installation", "Managing assignment files"):

- one Unix account per person (home folders 0700: no one reads another's work);
- a Python environment every account can run (``<prefix>/venv``) with the
  course's pinned requirements and the ``course_grader`` package;
- the exchange (``<prefix>/exchange``, ``chmod ugo+rw``) and a global
  ``nbgrader_config.py`` naming the course and the exchange;
- the instructor's course folder (``~/initialization-course``: ``source/`` and
  the course config, whose ``ExchangeFactory.collect`` takes submissions through
  the trusted intake, docs/hub-intake.md) and ``~/.jupyter/nbgrader_config.py``
  pointing at it;
- nbgrader's extensions per role: students keep Assignments (assignment list)
  and Validate; formgrader, course list and create-assignment are disabled for
  them, at user level (``jupyter labextension disable --level=user`` and the
  user's ``jupyter_server_config.json``); the instructor keeps them all;
- with ``--grade-on-submit initialization``, the policy of the hub's
  grade-on-submit service in the course config (README, "Grade on submit");
- ``<prefix>/hub-settings.json``, read by ``hub/jupyterhub_config.py``.

Passwords are not set here: accounts log in through PAM (``passwd <user>``),
or replace the authenticator in ``hub/jupyterhub_config.py`` by your
university's.  Running it again updates everything and keeps students' work.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COURSE_ID = "initialization-course"
COURSE_FOLDER = "initialization-course"
STUDENT_OFF_LAB = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                   "@jupyter/nbgrader:create-assignment"]
STUDENT_OFF_SERVER = ["nbgrader.server_extensions.formgrader",
                      "nbgrader.server_extensions.course_list"]


def run(*cmd, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def as_user(user: str, *cmd, env: dict | None = None):
    home = pwd.getpwnam(user).pw_dir
    base = {"HOME": home, "USER": user, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    assignments = [f"{k}={v}" for k, v in {**base, **(env or {})}.items()]
    return run("runuser", "-u", user, "--", "env", "-i", *assignments, *cmd, cwd=home)


def everyone_can_run(path: Path) -> bool:
    """True when every folder above ``path`` lets other users through."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.is_dir())


def base_python() -> str:
    """A Python every account can execute (a pyenv under /root is not one)."""
    ours = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}"
    return str(ours) if everyone_can_run(ours.parent) else "/usr/bin/python3"


def source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted([REPO / "requirements.lock", REPO / "pyproject.toml",
                        *(REPO / "course_grader").rglob("*.py")]):
        digest.update(str(path.relative_to(REPO)).encode() + path.read_bytes())
    return digest.hexdigest()


def make_venv(venv: Path) -> None:
    """The environment the hub and every single-user server run in."""
    stamp = venv / ".course-digest"
    if stamp.exists() and stamp.read_text() == source_digest():
        return
    if not (venv / "bin" / "python").exists():
        run(base_python(), "-m", "venv", venv)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q"]
    run(*pip, "--require-hashes", "-r", REPO / "requirements.lock")
    # a copy, not an editable link: the repository may sit where students cannot read
    run(*pip, "--no-deps", "--force-reinstall", REPO)
    run(venv / "bin" / "python", "-m", "ipykernel", "install", "--sys-prefix",
        "--name", "python3", "--display-name", "Python 3 (course)")
    stamp.write_text(source_digest())


def make_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        run("useradd", "--create-home", "--shell", "/bin/bash", name)
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)


def write_global_config(prefix: Path, exchange: Path) -> Path:
    """The nbgrader settings every account shares (students have no course folder)."""
    folder = prefix / "etc" / "jupyter"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(
        "# Written by hub/setup_course.py: settings every account of the course shares.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n")
    for path in (prefix, prefix / "etc", folder):
        os.chmod(path, 0o755)
    os.chmod(folder / "nbgrader_config.py", 0o644)
    return folder


def make_exchange(exchange: Path) -> None:
    # nbgrader's docs: the exchange exists and everyone may read and write it;
    # nbgrader itself then makes inbound/ write-only and per-student feedback
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(exchange.stat().st_mode | 0o666)


GRADE_ON_SUBMIT_HEADER = "# Grade on submit (README); the service rereads this file."


def grade_on_submit_lines(assignments: list[str]) -> list[str]:
    """The policy block for the course config, with the safe defaults spelled out."""
    return [GRADE_ON_SUBMIT_HEADER,
            f"c.GradeOnSubmit.assignments = {assignments!r}",
            "c.GradeOnSubmit.show_score = False  # the diagnosis only, no points",
            "c.GradeOnSubmit.max_per_day = 10  # graded submissions per student, any 24 h",
            "c.GradeOnSubmit.cooldown_seconds = 120  # between two of one student's gradings",
            "c.GradeOnSubmit.after_due = 'hold'  # late ones wait for the batch grade"]


def write_course_config(course: Path, grade_on_submit: list[str] | None) -> None:
    """The repository's course config; the grade-on-submit block named, or the one kept.

    Running setup again without ``--grade-on-submit`` keeps the policy lines an
    instructor wrote (every ``c.GradeOnSubmit.`` line), so turning it on by
    editing the config survives an update.
    """
    config = course / "nbgrader_config.py"
    kept = []
    if config.exists():
        kept = [line for line in config.read_text().splitlines()
                if line.startswith("c.GradeOnSubmit.")]
    text = (REPO / "nbgrader_config.py").read_text().rstrip("\n") + "\n"
    if grade_on_submit:
        block = grade_on_submit_lines(grade_on_submit)
    else:
        block = [GRADE_ON_SUBMIT_HEADER, *kept] if kept else []
    config.write_text(text + ("\n" + "\n".join(block) + "\n" if block else ""))


def setup_instructor(user: str, venv: Path, grade_on_submit: list[str] | None = None) -> Path:
    home = Path(pwd.getpwnam(user).pw_dir)
    course = home / COURSE_FOLDER
    course.mkdir(exist_ok=True)
    write_course_config(course, grade_on_submit)
    shutil.copytree(REPO / "source", course / "source", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    jupyter = home / ".jupyter"
    jupyter.mkdir(exist_ok=True)
    (jupyter / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course)!r}\n")
    run("chown", "-R", f"{user}:{user}", course, jupyter)
    return course


def setup_student(user: str, venv: Path) -> None:
    jupyter = venv / "bin" / "jupyter"
    for extension in STUDENT_OFF_LAB:
        as_user(user, jupyter, "labextension", "disable", "--level=user", extension)
    # What `jupyter server extension disable --user <name>` would write: with
    # nbgrader 0.9.6 that command rejects the names nbgrader itself enables
    # ("could not be found": they have no extension points) and writes nothing.
    config = Path(pwd.getpwnam(user).pw_dir) / ".jupyter" / "jupyter_server_config.json"
    data = json.loads(config.read_text()) if config.exists() else {}
    enabled = data.setdefault("ServerApp", {}).setdefault("jpserver_extensions", {})
    enabled.update({extension: False for extension in STUDENT_OFF_SERVER})
    config.write_text(json.dumps(data, indent=2))
    run("chown", "-R", f"{user}:{user}", config.parent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefix", default="/srv/initialization-hub",
                        help="folder for the hub's state, venv, exchange and config")
    parser.add_argument("--venv", default=None, help="default: <prefix>/venv")
    parser.add_argument("--exchange", default=None, help="default: <prefix>/exchange")
    parser.add_argument("--instructor", required=True)
    parser.add_argument("--students", required=True, help="comma-separated user names")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--ip", default="127.0.0.1",
                        help="where the hub listens (put TLS in front of it for a real class)")
    parser.add_argument("--grade-on-submit", default="", metavar="ASSIGNMENTS",
                        help="comma-separated assignments the hub's grade-on-submit service "
                             "grades at Submit (writes c.GradeOnSubmit with safe defaults "
                             "into the course config; default: keep what is there)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("setup_course.py creates accounts and must run as root")
    prefix = Path(args.prefix).resolve()
    prefix.mkdir(parents=True, exist_ok=True)
    venv = Path(args.venv).resolve() if args.venv else prefix / "venv"
    exchange = Path(args.exchange).resolve() if args.exchange else prefix / "exchange"
    students = [s.strip() for s in args.students.split(",") if s.strip()]

    make_venv(venv)
    config_dir = write_global_config(prefix, exchange)
    make_exchange(exchange)
    for user in [args.instructor, *students]:
        make_user(user)
    on_submit = [a.strip() for a in args.grade_on_submit.split(",") if a.strip()]
    course = setup_instructor(args.instructor, venv, on_submit or None)
    for student in students:
        setup_student(student, venv)
    proxy = REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists():
        run("npm", "ci", "--no-audit", "--no-fund", cwd=REPO / "hub")
    settings = {
        "ip": args.ip, "port": args.port, "venv": str(venv), "proxy": str(proxy),
        "state": str(prefix / "state"), "config_path": str(config_dir),
        "exchange": str(exchange), "instructor": args.instructor, "students": students,
        "course": str(course),
    }
    (prefix / "state").mkdir(mode=0o700, exist_ok=True)
    (prefix / "hub-settings.json").write_text(json.dumps(settings, indent=2))
    print(f"Course set up. Start the hub with:  hub/start_hub.sh {prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
