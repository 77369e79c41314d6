"""Find an assignment's declaration by the assignment's name.

In this order:

1. the course's ``nbgrader_config.py`` names it::

       c.AssignmentDeclarations.modules = {
           "lab2": "my_course.lab2_grading",        # a module on the import path
           "lab3": "grading/lab3_declaration.py",   # a file, relative to the course root
       }

2. otherwise the module ``course_grader.assignments.<assignment>``, if it exists;
3. otherwise there is none (``None``): nbgrader's ordinary test cells grade the
   assignment, as they would without this grader.

The module defines ``DECLARATION`` (``declaration.Declaration``).  Modules are
imported by name here, so the verdict never imports an assignment itself.  A
configured module that is missing or declares nothing raises
``DeclarationNotFound`` (a broken set-up: nobody is graded), never None.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from traitlets import Dict, Unicode
from traitlets.config import Config, Configurable
from traitlets.config.loader import PyFileConfigLoader

from .child import GraderBroken
from .declaration import Declaration

CONVENTION = "course_grader.assignments"
ATTRIBUTE = "DECLARATION"


class DeclarationNotFound(GraderBroken):
    """The course names a declaration that cannot be loaded, or it declares nothing."""


class AssignmentDeclarations(Configurable):
    """Where each assignment's declaration is, when not at the conventional place."""

    modules = Dict(key_trait=Unicode(), value_trait=Unicode(), help=(
        "assignment -> dotted module name, or a .py file (relative to the course root), "
        "defining DECLARATION; an assignment not named here is looked up as "
        f"{CONVENTION}.<assignment>, and graded by nbgrader's test cells if that is "
        "missing too")).tag(config=True)


def configured_modules(config: Config) -> dict[str, str]:
    """``c.AssignmentDeclarations.modules`` of an already loaded configuration.

    A misspelt setting would otherwise be a traitlets warning, and the assignment
    quietly graded by its own test cells: it is a broken set-up instead."""
    section = AssignmentDeclarations.__name__
    for name in config:
        if name != section and difflib.SequenceMatcher(None, name, section).ratio() > 0.85:
            raise DeclarationNotFound(f"c.{name} in the course config is not a setting; "
                                      f"did you mean c.{section}.modules?")
    unknown = sorted(set(config.get(section, {})) - {"modules"})
    if unknown:
        raise DeclarationNotFound(f"c.{section}.{unknown[0]} in the course config is not a "
                                  f"setting; did you mean c.{section}.modules?")
    return dict(AssignmentDeclarations(config=config).modules)


def course_modules(course_root: Path) -> dict[str, str]:
    """``c.AssignmentDeclarations.modules`` of the course's ``nbgrader_config.py``."""
    path = Path(course_root) / "nbgrader_config.py"
    if not path.is_file():
        return {}
    return configured_modules(PyFileConfigLoader(path.name, path=str(path.parent))
                              .load_config())


def is_file_name(where: str) -> bool:
    return where.endswith(".py") or "/" in where


def absolute_modules(modules: dict[str, str], course_root: Path) -> dict[str, str]:
    """The same entries with every file made absolute (for a worker in another folder)."""
    return {assignment: str((Path(course_root) / where).resolve()) if is_file_name(where)
            else where for assignment, where in modules.items()}


def declaration_for(assignment: str, course_root: Path,
                    modules: dict[str, str] | None = None) -> Declaration | None:
    """The declaration of ``assignment``, or None when the course has none for it.

    ``modules`` is the configured table; None reads it from the course's
    ``nbgrader_config.py``.  Raises DeclarationNotFound when a configured
    entry, or a module found by the convention, does not give a declaration.
    """
    if modules is None:
        modules = course_modules(course_root)
    where = modules.get(assignment)
    if where is not None:
        module = _load_file(where, course_root) if is_file_name(where) else _import(where)
        return _declared(module, where, assignment)
    name = f"{CONVENTION}.{assignment}"
    if not assignment.isidentifier() or not _exists(name):
        return None
    return _declared(_import(name), name, assignment)


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a parent package is missing
        return False


def _import(name: str):
    if not all(part.isidentifier() for part in name.split(".")):
        raise DeclarationNotFound(f"the declaration module {name!r} is not a module name")
    try:
        return importlib.import_module(name)
    except Exception as error:  # missing, or a declaration refused when it was made
        raise DeclarationNotFound(f"the declaration module {name!r} cannot be imported: "
                                  f"{type(error).__name__}: {error}") from None


def _load_file(where: str, course_root: Path):
    path = (Path(course_root) / where).resolve()
    if not path.is_file():
        raise DeclarationNotFound(f"the declaration file {where!r} "
                                  f"(c.AssignmentDeclarations.modules) is not at {path}")
    # a name of its own per file, registered while it runs: dataclasses look their
    # module up in sys.modules, and two courses' files must not replace each other
    name = "course_declarations.m" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(name, None)
        raise DeclarationNotFound(f"the declaration file {path} failed to load: "
                                  f"{type(error).__name__}: {error}") from None
    return module


def _declared(module, where: str, assignment: str) -> Declaration:
    declaration = getattr(module, ATTRIBUTE, None)
    if not isinstance(declaration, Declaration):
        raise DeclarationNotFound(f"{where} defines no {ATTRIBUTE} (a course_grader."
                                  "verdict.declaration.Declaration)")
    if declaration.assignment != assignment:
        raise DeclarationNotFound(f"{where} declares assignment "
                                  f"{declaration.assignment!r}, not {assignment!r}")
    return declaration
