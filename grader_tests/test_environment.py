"""pyproject.toml, the two locks and environment.yml (conda) must say the same thing.

pyproject.toml names what the code imports, with ranges; `python3 tasks.py lock`
resolves it with uv into requirements-test.lock (runtime + test extra, what tasks.py
installs) and requirements.lock (runtime, what the hub's venv installs).

Two checks of "the lock is in sync". The fast tier reads the files: every range of
pyproject.toml is satisfied by the lock, and the packages the lock says it took from
pyproject.toml (uv's `# via course-grader (pyproject.toml)`) are exactly the ones
pyproject.toml names, so a requirement added, removed or narrowed without re-locking
fails here, offline, in a second. What only a resolver can see (a new transitive
requirement, a dropped one) needs PyPI: the `network` test re-runs the same uv command
into a temporary folder and compares, and runs where the network is (CI).
"""

from __future__ import annotations

import re
import shutil
import sys
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from course_paths import ROOT

RUNTIME_LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pyproject_requirements(with_test: bool) -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + (project["optional-dependencies"]["test"]
                                       if with_test else [])
    requirements = [Requirement(line) for line in lines]
    return {canonicalize_name(r.name): r for r in requirements}


def lock_pins(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def lock_roots(path) -> set[str]:
    """The packages uv resolved because pyproject.toml names them."""
    roots, package = set(), None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            package = canonicalize_name(match[1])
        elif re.fullmatch(r"\s*#(\s+via)?\s+course-grader \(pyproject\.toml\)", line):
            roots.add(package)
    return roots


def requirement_lines(text: str) -> list[str]:
    """A lock without its comments: pins, markers, hashes (comments name paths)."""
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


@pytest.mark.parametrize("lock,with_test", [(RUNTIME_LOCK, False), (TEST_LOCK, True)],
                         ids=["runtime", "test"])
def test_the_lock_satisfies_every_range_of_pyproject(lock, with_test):
    pins = lock_pins(lock)
    for name, requirement in pyproject_requirements(with_test).items():
        assert name in pins, f"{name} is in pyproject.toml but not in {lock.name}"
        assert requirement.specifier.contains(Version(pins[name]), prereleases=True), \
            f"{lock.name} has {name}=={pins[name]}, pyproject.toml asks {requirement}"


@pytest.mark.parametrize("lock,with_test", [(RUNTIME_LOCK, False), (TEST_LOCK, True)],
                         ids=["runtime", "test"])
def test_the_lock_was_resolved_from_exactly_what_pyproject_names(lock, with_test):
    assert lock_roots(lock) == set(pyproject_requirements(with_test)), \
        f"{lock.name} is out of date: run python3 tasks.py lock"


def test_both_locks_agree_and_every_package_has_hashes():
    runtime, test = lock_pins(RUNTIME_LOCK), lock_pins(TEST_LOCK)
    assert {name: test.get(name) for name in runtime} == runtime
    for lock in (RUNTIME_LOCK, TEST_LOCK):
        # pip's hash-checking mode (implied by the first hash) needs one for every pin
        entries = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text().split("\n", 2)[2])
        # a package may be pinned twice, per Python version (its markers)
        assert len(entries) == sum(1 for line in lock.read_text().splitlines()
                                   if PIN.match(line))
        for entry in entries:
            assert "--hash=sha256:" in entry, entry.splitlines()[0]


def conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if "==" in line:
                    package, version = line.split("==")
                    pins[canonicalize_name(package)] = version
        else:
            package, _, version = dep.partition("=")
            if package not in ("python", "pip"):
                pins[canonicalize_name(package)] = version
    return pins


def test_conda_pins_what_pyproject_names_at_the_locked_versions():
    locked = lock_pins(TEST_LOCK)
    assert conda_pins() == {name: locked[name] for name in pyproject_requirements(True)}


def test_environment_installs_the_grader_package_on_the_supported_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict))
    assert "-e ." in pip_section
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    pythons = [dep.partition("=")[2] for dep in env["dependencies"]
               if str(dep).startswith("python=")]
    assert pythons and all(Version(p) in Requirement(f"python{requires}").specifier
                           for p in pythons)


@pytest.mark.network
def test_re_resolving_pyproject_gives_the_checked_in_locks(tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        import tasks
    finally:
        sys.path.remove(str(ROOT))
    for name in tasks.LOCKS:  # uv keeps the versions of the lock it rewrites
        shutil.copy(ROOT / name, tmp_path / name)
    tasks.compile_locks(tmp_path)
    for name in tasks.LOCKS:
        assert requirement_lines((tmp_path / name).read_text()) == \
            requirement_lines((ROOT / name).read_text()), \
            f"{name} is out of date: run python3 tasks.py lock"
