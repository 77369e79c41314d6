#!/usr/bin/env python3
"""One entry point for the course's chores; needs nothing but Python 3.11+.

    python3 tasks.py demo     set up, then run the instructor's demo
    python3 tasks.py test     set up, then run the whole test suite
    python3 tasks.py test --fast   under 2 minutes: no notebook run, nbgrader command,
                                   sandbox, browser or database
    python3 tasks.py setup    only set up: Debian packages (as root), .venv, hub proxy
    python3 tasks.py lock     rewrite the locks from pyproject.toml (uv pip compile)
    python3 tasks.py release [ASSIGNMENT]   regenerate its release and notebooks/ from source/
    python3 tasks.py lint     ruff over the repository
    python3 tasks.py bench    print the training benchmark
    python3 tasks.py grade [ASSIGNMENT] [options]   grade submitted/ with the class grader
    python3 tasks.py export-lms [ASSIGNMENT] [options]   canvas-grades.csv and moodle-grades.csv
                              from the gradebook

Without an ASSIGNMENT, release, grade and export-lms take the course's only
assignment under source/ (and list them when there are several).

It creates a virtual environment in .venv (so nothing is installed into the
system Python), installs the locked requirements (requirements-test.lock: every
package at one version, with hashes) and the course_grader package, JupyterHub's proxy (npm ci
in hub/), and, when it runs as root, the Debian packages in APT_PACKAGES (the
sandbox, the browser, PostgreSQL, npm); without root it prints the apt-get line.
CI (.ci/run) calls `setup`, starts PostgreSQL, then runs `test`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".requirements.sha256"
# lock file -> what it resolves, from pyproject.toml: the runtime set (hub/setup_course.py
# installs it for the hub), and the runtime plus the test extra (the venv of tasks.py).
# The runtime lock is constrained by the test lock so a package has one version in both.
LOCKS = {"requirements-test.lock": ["--extra", "test"],
         "requirements.lock": ["-c", "requirements-test.lock"]}
# one resolution for every platform and Python the project supports: 3.11.0 on, because
# the hub's shared venv is built from Debian's python3 (3.11.2 on bookworm) when the
# tasks' own Python is not one every account can run (hub/setup_course.py base_python)
LOCK_OPTIONS = ["--universal", "--python-version", "3.11", "--generate-hashes",
                "--custom-compile-command", "python3 tasks.py lock"]
# markers of the tests that need a kernel run of the notebook, an nbgrader command, a
# bubblewrap sandbox, a browser, a database, a JupyterHub or PyPI: the fast tier leaves them out
FAST_TIER = ("not (slow or notebook or nbgrader or sandbox or browser or postgres or hub "
             "or claims or accounts or network)")
# tasks that are `python -m course_grader` commands, their arguments passed through
COURSE_COMMANDS = ("demo", "release", "grade", "export-lms")
# Debian package -> what proves it is there: a command on PATH, or a file
APT_PACKAGES = {
    "bubblewrap": "bwrap",  # the sandbox of every student kernel and grading child
    "chromium": "chromium",  # the browser tests (never downloaded by Playwright)
    "postgresql": "pg_ctlcluster",  # the shared-gradebook tests (.ci/start_postgres.sh)
    "npm": "npm",  # JupyterHub's proxy for the hub tests (hub/package-lock.json)
    "fonts-dejavu-core": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # plots, screenshots
    "python3-venv": "ensurepip",  # `python3 -m venv` on Debian's own Python
}


def run(*cmd, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in (*LOCKS, "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _present(probe: str) -> bool:
    if probe == "ensurepip":
        import importlib.util

        return importlib.util.find_spec("ensurepip") is not None
    if probe.startswith("/"):
        return Path(probe).exists()
    return shutil.which(probe) is not None or Path("/usr/bin", probe).exists()


def ensure_system_packages() -> None:
    missing = [pkg for pkg, probe in APT_PACKAGES.items() if not _present(probe)]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("Missing system packages: " + " ".join(missing) + "\n"
              "Install them with: sudo apt-get install " + " ".join(missing) + "\n"
              "(grading refuses to run without bubblewrap; browser, PostgreSQL and "
              "JupyterHub tests are skipped without chromium, postgresql and npm)",
              file=sys.stderr)
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run("apt-get", "update", "-q", env=env)
    run("apt-get", "install", "-y", "-q", "--no-install-recommends", *missing, env=env)


def setup() -> None:
    ensure_system_packages()
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    if not STAMP.exists() or STAMP.read_text() != requirements_digest():
        run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
        run(PY, "-m", "pip", "install", "-q", "--require-hashes", "-r",
            ROOT / "requirements-test.lock")
        # the locked set is complete: the package itself adds nothing, and pip check
        # fails if pyproject.toml asks for something the lock does not satisfy
        run(PY, "-m", "pip", "install", "-q", "--no-deps", "-e", ROOT)
        run(PY, "-m", "pip", "check")
        run(PY, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3",
            "--display-name", "Python 3 (course)")
        STAMP.write_text(requirements_digest())
    ensure_hub_proxy()


def compile_locks(folder: Path = ROOT, *options: str) -> None:
    """Resolve pyproject.toml into the LOCKS in ``folder`` with uv (from the test lock).

    uv keeps the versions already in a lock it rewrites unless pyproject.toml rules
    them out, so re-running this on unchanged inputs changes nothing.
    """
    for name, what in LOCKS.items():
        what = [os.path.relpath(folder / w, ROOT) if w in LOCKS else w for w in what]
        run(VENV / "bin" / "uv", "pip", "compile", "--quiet", "pyproject.toml", *what,
            *LOCK_OPTIONS, *options, "-o", folder / name, cwd=ROOT)


def ensure_hub_proxy() -> None:
    """JupyterHub's proxy (npm configurable-http-proxy, pinned in hub/package-lock.json)."""
    if (ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        return
    if shutil.which("npm") is None:
        print("npm is missing: the JupyterHub tests (marker hub) will be skipped; "
              "install it with: sudo apt-get install npm", file=sys.stderr)
        return
    run("npm", "ci", "--no-audit", "--no-fund", cwd=ROOT / "hub")


def in_venv(*args) -> int:
    env = dict(os.environ, PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    task = argv[0] if argv else "help"
    rest = argv[1:]
    if task in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    setup()
    if task == "setup":
        return 0
    if task == "lock":
        compile_locks(ROOT, *rest)
        return 0
    if task in COURSE_COMMANDS:  # the command takes the course's only assignment by default
        return in_venv(PY, "-m", "course_grader", task, *rest)
    if task == "test":
        status = in_venv(PY, "-m", "ruff", "check", ".")
        if "--fast" in rest:
            rest = [a for a in rest if a != "--fast"] + ["-m", FAST_TIER]
        return status or in_venv(PY, "-m", "pytest", *rest)
    if task == "lint":
        return in_venv(PY, "-m", "ruff", "check", ".", *rest)
    if task == "bench":
        return in_venv(PY, "benchmarks/run_benchmarks.py", *rest)
    print(f"unknown task {task!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
