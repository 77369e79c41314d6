"""Start and stop a private JupyterLab server for the browser tests.

Each server runs on 127.0.0.1 with a random free port and a random token, in
a directory the test owns, with its own Jupyter config, runtime, settings and
workspace folders so nothing from the developer's home directory leaks in.
Stopping it also ends the kernels it started, even when a test failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# JupyterLab user settings for the tests.  Auto-closing brackets off, so that
# typed code arrives in the editor exactly as typed; every cell attached to
# the DOM (windowing "none"), so cells far down the notebook can be found;
# no news or update checks, which would try to reach the internet and pop up
# notifications over the screenshots.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "codeCellConfig": {"autoClosingBrackets": False, "lineNumbers": False,
                           "lineWrap": False},
        "windowingMode": "none",
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

START_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc; empty elsewhere)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            # the command name in field 2 may contain spaces: split after ')'
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class LabServer:
    root: Path
    port: int
    token: str
    process: subprocess.Popen
    log_path: Path
    _log_file: object = field(repr=False, default=None)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab") -> str:
        joiner = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{joiner}token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 10.0):
        request = urllib.request.Request(
            f"{self.base_url}/{path.lstrip('/')}", method=method,
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode} "
                                   f"before answering; its log:\n{self.log_tail()}")
            try:
                self.api("api/status", timeout=2.0)
                # the lab page itself (extensions, settings) answers too
                with urllib.request.urlopen(self.url("lab"), timeout=5.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
                last_error = error
            time.sleep(0.25)
        raise RuntimeError(f"JupyterLab did not answer within {START_TIMEOUT:.0f} s "
                           f"(last error: {last_error}); its log:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            below = _children(self.process.pid)
            # SIGTERM lets jupyter_server shut its kernels down cleanly
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
            # kernels run in sessions of their own: end any that outlived it
            for pid in below:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def write_lab_settings(settings_dir: Path, extra: dict | None = None) -> None:
    for name, values in {**LAB_SETTINGS, **(extra or {})}.items():
        target = settings_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values, indent=2))


# What a student's server leaves out: the instructor-only parts of nbgrader.
STUDENT_SERVER_CONFIG = {
    "ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": False}},
}
STUDENT_PAGE_CONFIG = {
    "disabledExtensions": {"@jupyter/nbgrader:formgrader": True,
                           "@jupyter/nbgrader:create-assignment": True},
}


def write_student_config(config_dir: Path) -> None:
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(STUDENT_SERVER_CONFIG))
    (config_dir / "labconfig").mkdir(exist_ok=True)
    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(STUDENT_PAGE_CONFIG))


@contextlib.contextmanager
def running_lab(root: Path, state_dir: Path, instructor: bool = False):
    """Run ``jupyter lab`` serving ``root`` (also its working directory).

    ``state_dir`` receives the server's private config, runtime and settings
    folders and its log, ``jupyterlab.log``.  Without ``instructor`` the
    server is set up as a student's: no formgrader, no create-assignment
    toolbar.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    dirs = {name: state_dir / name for name in
            ("config", "data", "runtime", "lab-settings", "lab-workspaces", "ipython")}
    for path in dirs.values():
        path.mkdir(exist_ok=True)
    write_lab_settings(dirs["lab-settings"])
    if not instructor:
        write_student_config(dirs["config"])
    env = dict(os.environ)
    for name in ("JUPYTER_TOKEN", "JUPYTER_PORT", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH",
                 "NBGRADER_EXECUTION", "NBGRADER_DB_URL"):
        env.pop(name, None)
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["lab-settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["lab-workspaces"]),
        IPYTHONDIR=str(dirs["ipython"]),
        PATH=venv_bin + os.pathsep + env.get("PATH", ""),
        PYTHONUNBUFFERED="1",
    )
    port, token = free_port(), secrets.token_hex(16)
    log_path = state_dir / "jupyterlab.log"
    log_file = open(log_path, "w")
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI runs as root in a throw-away machine
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log_file,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    server = LabServer(root=root, port=port, token=token, process=process,
                       log_path=log_path, _log_file=log_file)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


class BackgroundCommand:
    """A command running while the tests go on; its output goes to two files."""

    def __init__(self, command: list[str], cwd: Path, env: dict, log_dir: Path):
        self.command = command
        self.stdout_path, self.stderr_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                            stderr=err, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    def result(self, timeout: float) -> tuple[int, str, str]:
        """Wait for the command; return (exit code, stdout, stderr)."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise RuntimeError(f"{' '.join(self.command)} did not finish in {timeout:.0f} s; "
                               f"its output so far:\n{self.stdout_path.read_text()}") from None
        return (code, self.stdout_path.read_text(errors="replace"),
                self.stderr_path.read_text(errors="replace"))

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
