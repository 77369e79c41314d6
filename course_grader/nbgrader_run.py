"""Run real nbgrader commands in a course folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def nbgrader(course: Path, *args: str, check: bool = True, quiet: bool = False,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """``nbgrader <args>`` with ``course`` as working directory and course root."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    run_env = dict(os.environ, **(env or {}))
    # nbgrader shells out to `alembic` and `jupyter`: find the ones beside us
    bin_dir = str(Path(sys.executable).parent)
    run_env["PATH"] = bin_dir + os.pathsep + run_env.get("PATH", "")
    # the course's own config must win over any config of the machine's user
    run_env.setdefault("JUPYTER_CONFIG_DIR", str(course / ".jupyter-config"))
    result = subprocess.run(cmd, cwd=course, env=run_env, text=True,
                            capture_output=quiet)
    if check and result.returncode != 0:
        detail = (result.stderr or "")[-3000:] if quiet else ""
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({result.returncode})\n{detail}")
    return result
