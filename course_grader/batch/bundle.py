"""Read the class's grading setup from the course folder and gradebook (coordinator only).

Nothing here names an assignment: the notebook, its graded cells and points
come from the gradebook (what ``nbgrader generate_assignment`` recorded), the
release and the master notebook from their folders, the nbgrader settings
from the course's ``nbgrader_config.py``, and whether the assignment has a
declaration for the verdict (without one, every cell runs, as ``--full``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ..sandbox.bubblewrap import Limits
from ..verdict.registry import (
    DeclarationNotFound,
    absolute_modules,
    configured_modules,
    declaration_for,
)
from . import gradebook_copy
from .task import Bundle, canary_submissions


class SetupError(Exception):
    """The course folder or gradebook cannot be graded from; the message says why."""


def course_config(course: Path) -> Config:
    path = course / "nbgrader_config.py"
    if not path.exists():
        return Config()
    return PyFileConfigLoader(path.name, path=str(course)).load_config()


def portable(config: Config) -> Config:
    """The course config without its paths: a worker uses its own private folders."""
    config = Config(config)
    for section, keys in (("CourseDirectory", ("root", "db_url")), ("Exchange", ("root",))):
        if section in config:
            for key in keys:
                config[section].pop(key, None)
    return config


def _source_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".")}


def make_bundle(course: Path, assignment: str, db_url: str, limits: Limits, sandbox: bool,
                full: bool) -> Bundle:
    if not (course / "release" / assignment).is_dir():
        raise SetupError(f"{course / 'release' / assignment} is missing: generate the "
                         "assignment first (nbgrader generate_assignment)")
    sqlite_file = db_url.split("sqlite:///", 1)[1].split("?")[0] \
        if db_url.startswith("sqlite:///") else None
    if sqlite_file and not Path(sqlite_file).exists():
        raise SetupError(f"the gradebook {sqlite_file} does not exist: generate the "
                         "assignment first (nbgrader generate_assignment)")
    try:
        definition = gradebook_copy.export_definition(db_url, assignment)
    except gradebook_copy.NotInGradebook:
        raise SetupError(f"assignment {assignment!r} is not in the gradebook: run nbgrader "
                         "generate_assignment against this gradebook first") from None
    names = [nb["name"] for nb in definition["notebooks"]]
    if len(names) != 1:
        raise SetupError(f"assignment {assignment!r} has {len(names)} notebooks "
                         f"({', '.join(names)}); the class grader grades one per assignment")
    notebook = names[0]
    release = course / "release" / assignment / f"{notebook}.ipynb"
    source = course / "source" / assignment
    if not release.exists():
        raise SetupError(f"{release} is missing: generate the assignment first "
                         "(nbgrader generate_assignment)")
    if not (source / f"{notebook}.ipynb").exists():
        raise SetupError(f"the master notebook {source / f'{notebook}.ipynb'} is missing")
    files = _source_files(source)
    release_text = release.read_text()
    config = portable(course_config(course))
    declared = _declared(course, assignment, config)
    full = full or not declared  # nbgrader's own test cells grade it: they must run
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        digest.update(name.encode() + b"\0" + data)
    digest.update(release_text.encode())
    digest.update(json.dumps([definition, asdict(limits), sandbox, full], default=str,
                             sort_keys=True).encode())
    digest.update(repr(sorted((k, repr(v)) for k, v in config.items())).encode())
    canaries = canary_submissions(files[f"{notebook}.ipynb"].decode(), release_text, notebook)
    return Bundle(assignment, notebook, files, release_text, definition, config, limits,
                  sandbox, full, digest.hexdigest()[:16], canaries, declared)


def _declared(course: Path, assignment: str, config: Config) -> bool:
    """Whether the course declares ``assignment`` for the verdict (registry.py); a declared
    file becomes an absolute path in ``config``, so a worker in any folder finds it.
    A declaration that cannot be loaded stops here, before anyone is graded."""
    modules = configured_modules(config)
    try:
        declared = declaration_for(assignment, course, modules) is not None
    except DeclarationNotFound as error:  # said as the course's config says it
        raise SetupError(str(error)) from None
    if modules:
        config.AssignmentDeclarations.modules = absolute_modules(modules, course)
    return declared
