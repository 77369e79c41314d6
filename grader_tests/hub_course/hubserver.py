"""A real JupyterHub for the tests: Unix accounts, the course set up by hub/setup_course.py.

Everything runs as in a real course: hub/setup_course.py (as root) creates the
accounts, the shared venv, the exchange and the per-role extension settings;
JupyterHub (with the npm configurable-http-proxy) starts on 127.0.0.1 with
random ports and PAM logins.  On teardown the hub stops its users' servers,
any process still running as a test account is ended and the accounts are
deleted with their homes.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from browser.labserver import free_port, write_lab_settings

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "hub" / "setup_course.py"
HUB_CONFIG = ROOT / "hub" / "jupyterhub_config.py"
PROXY = ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
# kept between runs (rebuilt when requirements or course_grader change): ~1 min to build
VENV = Path(os.environ.get("COURSE_HUB_VENV", "/var/tmp/initialization-course-hub-venv"))
INSTRUCTOR, STUDENT_A, STUDENT_B = "cg-teacher", "cg-ada", "cg-ben"
START_TIMEOUT = 120


@dataclass
class Hub:
    prefix: Path
    port: int
    settings: dict
    passwords: dict
    process: subprocess.Popen
    log_path: Path
    users: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course(self) -> Path:
        return Path(self.settings["course"])

    @property
    def exchange(self) -> Path:
        return Path(self.settings["exchange"])

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def run_as(self, user: str, *cmd, cwd: Path | None = None, timeout: float = 900,
               extra_env: dict | None = None) -> subprocess.CompletedProcess:
        """Run a command as ``user`` with the environment the hub gives their server."""
        env = {"HOME": str(self.home(user)), "USER": user, "LANG": "C.UTF-8",
               "PATH": f"{self.settings['venv']}/bin:/usr/local/bin:/usr/bin:/bin",
               "JUPYTER_CONFIG_PATH": self.settings["config_path"],
               "NBGRADER_EXCHANGE_ROOT": self.settings["exchange"], **(extra_env or {})}
        return subprocess.run(
            ["runuser", "-u", user, "--", "env", "-i",
             *[f"{k}={v}" for k, v in env.items()], *[str(c) for c in cmd]],
            cwd=cwd or self.home(user), capture_output=True, text=True, timeout=timeout)


def _run(*cmd, **kwargs):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True,
                          **kwargs)


def _uid(user: str) -> int | None:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def _end_processes_of(uids: set[int]) -> None:
    """SIGKILL what still runs as the test accounts (their servers, kernels)."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if entry.stat().st_uid in uids:
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def remove_accounts(users: list[str]) -> None:
    uids = {uid for uid in map(_uid, users) if uid is not None}
    _end_processes_of(uids)
    for user in users:
        if _uid(user) is not None:
            subprocess.run(["userdel", "--remove", user], capture_output=True)


def _wait_healthy(hub: Hub) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            raise RuntimeError(f"JupyterHub exited ({hub.process.returncode}):\n"
                               f"{hub.log_tail()}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{hub.url}/hub/health", timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.5)
    raise RuntimeError(f"JupyterHub did not answer in {START_TIMEOUT} s:\n{hub.log_tail()}")


@contextlib.contextmanager
def running_hub(instructor: str = INSTRUCTOR, students: tuple = (STUDENT_A, STUDENT_B),
                venv: Path = VENV, prefix_name: str = "course-hub-", setup_args: tuple = ()):
    """The course's hub; other tests pass account names, a venv and a prefix of their own."""
    users = [instructor, *students]
    remove_accounts(users)  # left by an interrupted earlier run
    prefix = Path(tempfile.mkdtemp(prefix=prefix_name, dir="/var/tmp"))
    prefix.chmod(0o755)
    port = free_port()
    hub = None
    try:
        _run(sys.executable, SETUP, "--prefix", prefix, "--venv", venv,
             "--instructor", instructor, "--students", ",".join(students),
             "--port", port, *setup_args, timeout=900)
        settings_path = prefix / "hub-settings.json"
        settings = json.loads(settings_path.read_text())
        settings.update(hub_port=free_port(), proxy_api_port=free_port())
        settings_path.write_text(json.dumps(settings, indent=2))
        passwords = {user: secrets.token_urlsafe(12) for user in users}
        _run("chpasswd", input="".join(f"{u}:{p}\n" for u, p in passwords.items()))
        for user in users:  # typed code arrives as typed; every cell in the page
            settings_dir = Path(pwd.getpwnam(user).pw_dir) / ".jupyter" / "lab" / "user-settings"
            write_lab_settings(settings_dir)
            _run("chown", "-R", f"{user}:{user}", settings_dir.parent.parent)
        log_path = prefix / "jupyterhub.log"
        env = dict(os.environ, COURSE_HUB_SETTINGS=str(settings_path))
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_CONFIG_PATH", "NBGRADER_DB_URL"):
            env.pop(name, None)
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [venv / "bin" / "jupyterhub", "-f", HUB_CONFIG], cwd=settings["state"],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        hub = Hub(prefix, port, settings, passwords, process, log_path, users)
        _wait_healthy(hub)
        yield hub
    finally:
        if hub is not None and hub.process.poll() is None:
            hub.process.send_signal(signal.SIGTERM)  # it stops the users' servers
            try:
                hub.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(hub.process.pid, signal.SIGKILL)
                hub.process.wait(10)
        remove_accounts(users)
