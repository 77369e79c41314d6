"""environment.yml (conda) and the pip requirements must pin the same things."""

from __future__ import annotations

import re

import yaml

from course_paths import ROOT


def pip_pins() -> dict[str, str]:
    pins = {}
    for name in ("requirements.txt", "requirements-test.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                package, version = line.split("==")
                pins[normalise(package)] = version
    return pins


def conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if "==" in line:
                    package, version = line.split("==")
                    pins[normalise(package)] = version
        else:
            package, _, version = dep.partition("=")
            if package not in ("python", "pip"):
                pins[normalise(package)] = version
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def test_conda_and_pip_pin_the_same_packages_and_versions():
    assert conda_pins() == pip_pins()


def test_every_requirement_is_pinned_exactly():
    for name in ("requirements.txt", "requirements-test.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line), line


def test_environment_installs_the_grader_package():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict))
    assert "-e ." in pip_section
    assert any(str(dep).startswith("python=3.11") for dep in env["dependencies"])
