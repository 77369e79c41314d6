"""The grader's import layers (pyproject.toml, [tool.importlinter]) hold.

Sandbox at the bottom, then the generic verdict, the assignments, the engines
and the command line; ``lint-imports`` (import-linter) checks that no import
runs back up.  The second test proves the contract bites: a copy of the
package with one upward import is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from course_paths import ROOT

LINT = Path(sys.executable).with_name("lint-imports")


def lint(package_parent: Path, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT), "--config", str(config), "--no-cache"],
                          cwd=package_parent, env=env, capture_output=True, text=True,
                          timeout=120)


def test_no_import_runs_back_up():
    done = lint(ROOT, ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Contracts: 1 kept, 0 broken" in done.stdout


def test_an_upward_import_is_refused(tmp_path):
    shutil.copytree(ROOT / "course_grader", tmp_path / "course_grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    slots = tmp_path / "course_grader" / "sandbox" / "slots.py"
    slots.write_text(slots.read_text() + "\nfrom ..service import policy  # noqa\n")
    done = lint(tmp_path, tmp_path / "pyproject.toml")
    assert done.returncode != 0
    assert "course_grader.sandbox.slots -> course_grader.service.policy" in \
        " ".join(done.stdout.split())
