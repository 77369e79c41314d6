"""Finding an assignment's declaration (``verdict/registry.py``) and checking it when made
(``verdict/declaration.py``).

Each course here is a folder with an ``nbgrader_config.py`` and, where the test
needs one, a declaration module of its own; nothing is graded.
"""

from __future__ import annotations

import pytest

from course_grader.verdict.declaration import (
    Array,
    Call,
    Declaration,
    DeclarationError,
    GradedFunction,
    TestCell,
    Verdict,
)
from course_grader.verdict.registry import (
    AssignmentDeclarations,
    DeclarationNotFound,
    absolute_modules,
    declaration_for,
)

# a declaration module as a course engineer writes one: one function, one test cell
MODULE = '''
from course_grader.verdict.declaration import Call, Declaration, GradedFunction, TestCell, Verdict

def judge(part, result, context):
    return Verdict(True, "fine")

DECLARATION = Declaration("{assignment}", (GradedFunction(
    name="double", function="double", answer_cell="double_answer",
    tests=(TestCell("double_test", "values", 2),), calls=(Call((3,)),),
    returns="number", judge=judge),))
'''


def course(tmp_path, modules: dict | None = None):
    root = tmp_path / "course"
    root.mkdir()
    config = "c = get_config()  # noqa: F821\n"
    if modules is not None:
        config += f"c.AssignmentDeclarations.modules = {modules!r}\n"
    (root / "nbgrader_config.py").write_text(config)
    return root


def test_a_configured_module_name_is_imported(tmp_path, monkeypatch):
    package = tmp_path / "lab_grading"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "doubling.py").write_text(MODULE.format(assignment="doubling"))
    monkeypatch.syspath_prepend(str(tmp_path))
    found = declaration_for("doubling", course(tmp_path, {"doubling": "lab_grading.doubling"}))
    assert [f.function for f in found.exercises] == ["double"]
    assert found.exercises[0].judge("values", None, None) == Verdict(True, "fine")


def test_a_configured_file_is_loaded_relative_to_the_course(tmp_path):
    root = course(tmp_path, {"doubling": "grading/doubling.py"})
    (root / "grading").mkdir()
    (root / "grading" / "doubling.py").write_text(MODULE.format(assignment="doubling"))
    found = declaration_for("doubling", root)
    assert found.assignment == "doubling" and found.exercises[0].returns == "number"
    # for a worker that grades in another folder, the entry becomes an absolute path
    moved = absolute_modules({"doubling": "grading/doubling.py", "x": "a.b"}, root)
    assert moved == {"doubling": str(root / "grading" / "doubling.py"), "x": "a.b"}
    again = declaration_for("doubling", tmp_path / "elsewhere", moved)
    assert [f.answer_cell for f in again.exercises] == ["double_answer"]


def test_the_configuration_wins_over_the_convention(tmp_path):
    root = course(tmp_path, {"initialization": "grading/init.py"})
    (root / "grading").mkdir()
    (root / "grading" / "init.py").write_text(MODULE.format(assignment="initialization"))
    assert [f.name for f in declaration_for("initialization", root).exercises] == ["double"]


def test_the_convention_finds_the_initialization_assignment(tmp_path):
    found = declaration_for("initialization", course(tmp_path))
    assert [f.name for f in found.exercises] == ["zeros", "random", "he"]
    assert {f.returns for f in found.exercises} == {"dict of arrays"}
    assert found.check_setup is not None


@pytest.mark.parametrize("assignment", ["doubling", "lab-2", "initialization.checks", ""])
def test_no_declaration_is_none(tmp_path, assignment):
    """nbgrader's own test cells grade it; not an error (also for names that are no
    module name, or that would reach into a module of another assignment)."""
    assert declaration_for(assignment, course(tmp_path)) is None
    assert declaration_for(assignment, tmp_path / "no-config-here") is None


@pytest.mark.parametrize("where, said", [
    ("lab_grading_that_is_not_there", "'lab_grading_that_is_not_there' cannot be imported"),
    ("grading/missing.py", "declaration file 'grading/missing.py'"),
    ("not a module", "is not a module name"),
])
def test_a_configured_declaration_that_is_missing_is_a_clear_error(tmp_path, where, said):
    with pytest.raises(DeclarationNotFound, match=said):
        declaration_for("doubling", course(tmp_path, {"doubling": where}))


@pytest.mark.parametrize("text, said", [
    ("X = 1\n", "defines no DECLARATION"),
    (MODULE.format(assignment="tripling"), "declares assignment 'tripling', not 'doubling'"),
    (MODULE.format(assignment="doubling").replace('"number"', '"string"'),
     "returns='string'"),
    ("raise RuntimeError('half written')\n", "RuntimeError: half written"),
])
def test_a_configured_file_that_declares_nothing_usable_is_a_clear_error(tmp_path, text, said):
    root = course(tmp_path, {"doubling": "decl.py"})
    (root / "decl.py").write_text(text)
    with pytest.raises(DeclarationNotFound, match=said):
        declaration_for("doubling", root)


@pytest.mark.parametrize("line, said", [
    ("c.AssignmentDeclarations.modulez = {'doubling': 'decl.py'}",
     "c.AssignmentDeclarations.modulez in the course config is not a setting"),
    ("c.AssignmentDeclaration.modules = {'doubling': 'decl.py'}",
     "c.AssignmentDeclaration in the course config is not a setting"),
])
def test_a_misspelt_setting_is_a_broken_set_up_not_a_quiet_fallback(tmp_path, line, said):
    """Else the assignment would be graded by its own test cells, without a word."""
    root = tmp_path / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(f"c = get_config()\n{line}\n")
    with pytest.raises(DeclarationNotFound, match=said):
        declaration_for("doubling", root)


def test_the_configurable_reads_the_course_config(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader

    root = course(tmp_path, {"a": "b.c"})
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    assert AssignmentDeclarations(config=config).modules == {"a": "b.c"}


# -- a declaration the verdict could not grade with is refused when it is made ----------

def _function(**changes):
    fields = dict(name="f", function="f", answer_cell="f_answer",
                  tests=(TestCell("f_test", "values", 1),), calls=(Call((1,)),),
                  returns="array", judge=lambda part, result, context: None)
    return GradedFunction(**{**fields, **changes})


@pytest.mark.parametrize("make, said", [
    (lambda: _function(returns="list"), "returns='list'"),
    (lambda: _function(calls=()), "0 calls"),
    (lambda: _function(calls=(Call((1,)),) * 17), "17 calls"),
    (lambda: _function(function="not a name"), "is not a function name"),
    (lambda: _function(tests=()), "one or more TestCell"),
    (lambda: _function(judge="judge"), "judge must be callable"),
    (lambda: Call(([1, {2}],)), "not plain JSON data"),
    (lambda: Call([1]), "must be a tuple"),
    (lambda: Call((1,), disturb=-1), "disturb must be a seed"),
    (lambda: Array([["a"]]), "Array"),
    (lambda: Array([1, 2], dtype="object"), "not a plain number type"),
    (lambda: Array(list(range(70000))), "too large"),
    (lambda: Declaration("a", ()), "grades nothing"),
    (lambda: Declaration("a", (_function(), _function(name="g", answer_cell="g_answer"))),
     "share a function"),
    (lambda: Declaration("a", (_function(), _function(name="g", function="g",
                                                       answer_cell="g_answer"))),
     "declared twice"),
])
def test_a_declaration_that_cannot_be_graded_with_is_refused(make, said):
    with pytest.raises(DeclarationError, match=said):
        make()


def test_calls_reach_the_runner_as_tagged_data():
    call = Call((Array([[1, 2]], "int64"), [4, 7], {"k": "v"}), disturb=5)
    assert call.to_json() == {"args": [{"array": [[1, 2]], "dtype": "int64"},
                                       {"data": [4, 7]}, {"data": {"k": "v"}}],
                              "disturb": 5}


def test_the_initialization_declaration_follows_its_records(monkeypatch):
    """DECLARATION is made from the records each time: a record added is declared."""
    from dataclasses import replace

    from course_grader.assignments import initialization
    from course_grader.assignments.initialization.exercises import graded

    he = initialization.EXERCISES["he"]
    monkeypatch.setitem(initialization.EXERCISES, "he2", replace(
        he, name="he2", function="initialize_parameters_he2", checks=graded("he2")))
    assert [f.name for f in initialization.DECLARATION.exercises] == \
        ["zeros", "random", "he", "he2"]
    declared = initialization.DECLARATION.by_name()["he"]
    assert declared.tests == tuple(TestCell(c.grade_id, c.part, c.points) for c in he.checks)
    assert declared.calls[-1].disturb is not None and len(declared.calls) == \
        len(he.grading_dims) + 1
