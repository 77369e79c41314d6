"""A second assignment proves the declaration interface (issue 18).

"activations" (``grader_tests/second_assignment/``) is added to a copy of the
course as a course engineer would: its master notebook under ``source/``, its
declaration beside the course, one line of ``nbgrader_config.py``; no file of
``course_grader/`` knows it.  Its functions have other shapes than
Initialization's (one array, a pair, one number).  Its sample class is graded
by plain ``nbgrader autograde`` and by the class grader, which must give every
student the points and the diagnoses the samples expect, and the same in
both; Initialization, in the same course, still grades as before.  Without
the config line the same notebook is graded by its own hidden tests.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbgrader.api import Gradebook
from second_assignment import declaration as activations
from second_assignment.course import add_assignment
from second_assignment.samples import (
    ASSIGNMENT,
    EXERCISES,
    MESSAGES,
    NOTEBOOK,
    sample_class,
    write_class,
)

from course_grader.batch.coordinator import Options, run_batch
from course_grader.batch.outcome import DIAGNOSIS
from course_grader.cli import make_course_copy, release
from course_grader.nbgrader_run import nbgrader
from course_grader.sandbox.bubblewrap import Limits
from course_grader.verdict.declaration import Verdict
from course_grader.verdict.intake import CallResult, ExerciseResult

# short caps keep a broken run to seconds; these notebooks need well under them
LIMITS = Limits(cell_timeout=10, notebook_timeout=120, memory_mb=3072, cpu_seconds=240,
                processes=96)
NEEDS_BWRAP = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap missing: apt-get install bubblewrap")
# the Initialization student graded beside the second assignment
INIT_STUDENT = "zoe_initialization"
# a piece of the hidden tests' inputs (the cost's second call), shown nowhere to students
HIDDEN_INPUT = "0.95, 0.1, 0.7"


def _diagnosis_codes(text: str) -> list[str]:
    return DIAGNOSIS.findall(text)


def _plain_facts(course, students) -> dict:
    """student -> {"scores": grade_id -> points, "errors": grade_id -> error text}, read
    from the gradebook and the autograded notebooks plain nbgrader wrote."""
    facts = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in students:
            nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, sub.student)
            facts[sub.student] = {"scores": {g.name: float(g.score or 0.0) for g in nb.grades}}
    for sub in students:
        graded = nbformat.read(course / "autograded" / sub.student / ASSIGNMENT /
                               f"{NOTEBOOK}.ipynb", as_version=4)
        errors = {}
        for cell in graded.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            texts = [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", [])
                     if o.output_type == "error"]
            if gid and texts:
                errors[gid] = "; ".join(texts)
        facts[sub.student]["errors"] = errors
    return facts


def _per_exercise(scores: dict) -> dict:
    return {name: float(sum(scores.get(cell.grade_id, 0.0) for cell in ex.tests))
            for name, ex in EXERCISES.items()}


def _wrong_diagnoses(sub, errors: dict) -> list[str]:
    """What differs from the diagnoses ``sub`` expects: every failing test cell of an
    exercise names its expected code and message, and no other cell fails."""
    wrong = []
    for name, ex in EXERCISES.items():
        for cell in ex.tests:
            text = errors.get(cell.grade_id)
            code = sub.diagnoses.get(name)
            if text is None:
                continue
            if code is None:
                wrong.append(f"{sub.student}: {cell.grade_id} failed unexpectedly: {text}")
            elif _diagnosis_codes(text) != [code] or MESSAGES[code] not in text:
                wrong.append(f"{sub.student}: {cell.grade_id} expected {code!r} "
                             f"({MESSAGES[code]!r}), got {text!r}")
        if sub.diagnoses.get(name) and not any(c.grade_id in errors for c in ex.tests):
            wrong.append(f"{sub.student}: no test cell of {name} failed")
    return wrong


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """One course with both assignments: the sample class of "activations" graded by plain
    nbgrader (facts kept), then by the class grader; one Initialization student too."""
    from course_grader.assignments.initialization.sample_class import correct
    from course_grader.assignments.initialization.sample_class import (
        write_submission as write_initialization,
    )

    course = make_course_copy(tmp_path_factory.mktemp("second") / "course")
    add_assignment(course)
    release(course, "initialization", publish=False)  # Initialization, as the course releases it
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", quiet=True)
    students = sample_class()
    write_class(course, students)
    write_initialization(course / "release" / "initialization" / "Initialization.ipynb",
                         correct(INIT_STUDENT, "correct solution"),
                         course / "submitted" / INIT_STUDENT / "initialization")

    nbgrader(course, "autograde", ASSIGNMENT, "--force", quiet=True)
    plain = _plain_facts(course, students)
    batch = run_batch(Options(course, assignment=ASSIGNMENT, workers=1, force=True,
                              students=[s.student for s in students], limits=LIMITS,
                              progress=False))
    initialization = run_batch(Options(course, assignment="initialization", workers=1,
                                       force=True, students=[INIT_STUDENT], limits=LIMITS,
                                       progress=False))
    return {"course": course, "students": students, "plain": plain, "batch": batch,
            "initialization": initialization}


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.sandbox
@NEEDS_BWRAP
def test_plain_nbgrader_gives_the_expected_points_and_diagnoses(graded_course):
    released = (graded_course["course"] / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    assert HIDDEN_INPUT not in released.read_text()
    assert "BEGIN SOLUTION" not in released.read_text()
    wrong = []
    for sub in graded_course["students"]:
        facts = graded_course["plain"][sub.student]
        got = _per_exercise(facts["scores"])
        if got != sub.expected:
            wrong.append(f"{sub.student} ({sub.what}): expected {sub.expected}, got {got} "
                         f"{facts['errors']}")
        wrong += _wrong_diagnoses(sub, facts["errors"])
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.sandbox
@NEEDS_BWRAP
def test_the_class_grader_gives_the_expected_points_and_diagnoses(graded_course):
    batch = graded_course["batch"]
    assert batch.problems == []
    assert batch.spec.max_score == 20.0
    by_student = {r.student: r for r in batch.results}
    wrong = []
    for sub in graded_course["students"]:
        result = by_student[sub.student]
        if result.status != "graded" or result.exercises != sub.expected:
            wrong.append(f"{sub.student} ({sub.what}): expected {sub.expected}, got "
                         f"{result.exercises} {result.status!r} {result.errors}")
        wrong += _wrong_diagnoses(sub, result.errors)
        # the feedback names the mistake and shows neither hidden tests nor hidden inputs
        page = Path(result.feedback).read_text()
        if "BEGIN HIDDEN TESTS" in page or HIDDEN_INPUT in page or \
                any(MESSAGES[code] not in html.unescape(page) for code in sub.diagnoses.values()):
            wrong.append(f"{sub.student}: feedback page {result.feedback}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.sandbox
@NEEDS_BWRAP
def test_both_grading_paths_agree_cell_by_cell(graded_course):
    by_student = {r.student: r for r in graded_course["batch"].results}
    for sub in graded_course["students"]:
        plain = graded_course["plain"][sub.student]
        result = by_student[sub.student]
        assert result.scores == plain["scores"], sub.student
        assert result.errors == {gid: text[:500] for gid, text in plain["errors"].items()}, \
            sub.student


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.sandbox
@NEEDS_BWRAP
def test_initialization_in_the_same_course_grades_as_before(graded_course):
    (result,) = graded_course["initialization"].results
    assert result.status == "graded", result
    assert (result.score, result.max_score) == (30.0, 30.0)
    assert result.exercises == {"zeros": 10.0, "random": 10.0, "he": 10.0}


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.sandbox
@NEEDS_BWRAP
def test_without_a_declaration_the_hidden_tests_grade_it(tmp_path):
    """No config line: nbgrader's ordinary test cells decide (their hidden tests run in the
    sandboxed kernel), with the same points as the trusted verdict gives."""
    course = make_course_copy(tmp_path / "course")
    add_assignment(course, declared=False)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", quiet=True)
    students = sample_class()
    write_class(course, students)
    nbgrader(course, "autograde", ASSIGNMENT, "--force", quiet=True)
    facts = _plain_facts(course, students)
    wrong = [f"{sub.student} ({sub.what}): expected {sub.expected}, got "
             f"{_per_exercise(facts[sub.student]['scores'])}"
             for sub in students if _per_exercise(facts[sub.student]["scores"]) != sub.expected]
    assert not wrong, "\n".join(wrong)
    # the kernel's own assertion errors, not the verdict's diagnoses
    texts = [t for sub in students for t in facts[sub.student]["errors"].values()]
    assert texts and not any(_diagnosis_codes(t) for t in texts)


# -- the judges alone, on hand-built data (fast) ------------------------------------------

def _array_calls(values) -> ExerciseResult:
    return ExerciseResult(True, None, [CallResult(type_name="ndarray", value=np.array(v))
                                       for v in values])


def _number_calls(values) -> ExerciseResult:
    return ExerciseResult(True, None, [CallResult(type_name="float", value=float(v))
                                       for v in values])


def _pair_calls(pairs) -> ExerciseResult:
    return ExerciseResult(True, None, [CallResult(type_name="tuple", value=tuple(p),
                                                  length=len(p)) for p in pairs])


def _inputs(rows):
    return [np.array(z, dtype=float) for z in rows]


def test_judges_score_hand_built_results():
    relu_in, sig_in = _inputs(activations.RELU_INPUTS), _inputs(activations.SIGMOID_INPUTS)
    cache_in = _inputs(activations.CACHE_INPUTS)
    costs = [(np.array(al, float), np.array(y, float)) for al, y in activations.COST_INPUTS]
    right = {
        "relu": _array_calls([np.maximum(0, z) for z in relu_in]),
        "sigmoid": _array_calls([1 / (1 + np.exp(-z)) for z in sig_in]),
        "cache": _pair_calls([(1 / (1 + np.exp(-z)), z) for z in cache_in]),
        "cost": _number_calls([-np.mean(y * np.log(al) + (1 - y) * np.log(1 - al))
                               for al, y in costs]),
    }
    for ex in activations.DECLARATION.exercises:
        for cell in ex.tests:
            verdict = ex.judge(cell.part, right[ex.name], None)
            assert isinstance(verdict, Verdict) and verdict.passed, (ex.name, verdict)

    def judge(name, part, result):
        ex = next(e for e in activations.DECLARATION.exercises if e.name == name)
        verdict = ex.judge(part, result, None)
        return (verdict.passed, verdict.code)

    flipped = _array_calls([1 / (1 + np.exp(z)) for z in sig_in])
    assert judge("sigmoid", "shape", flipped)[0] is True
    assert judge("sigmoid", "values", flipped) == (False, "sign_flipped")
    # a slip within the stated tolerance (1e-6 relative) passes; ten times more does not
    near = _array_calls([np.maximum(0, z) * (1 + 5e-7) for z in relu_in])
    far = _array_calls([np.maximum(0, z) * (1 + 5e-6) for z in relu_in])
    assert judge("relu", "values", near)[0] is True
    assert judge("relu", "values", far) == (False, "wrong_values")
    assert judge("relu", "values", _array_calls([(z > 0) * 1.0 for z in relu_in])) == \
        (False, "relu_mask")
    reduced = _array_calls([np.max(z, axis=0) for z in relu_in])
    assert judge("relu", "shape", reduced) == (False, "reduced")

    summed = _number_calls([-np.sum(y * np.log(al) + (1 - y) * np.log(1 - al))
                            for al, y in costs])
    unsigned = _number_calls([np.mean(y * np.log(al) + (1 - y) * np.log(1 - al))
                              for al, y in costs])
    assert judge("cost", "number", summed)[0] is True
    assert judge("cost", "values", summed) == (False, "no_mean")
    assert judge("cost", "values", unsigned) == (False, "wrong_sign")
    by_three = _number_calls([-np.sum(y * np.log(al) + (1 - y) * np.log(1 - al)) / 3
                              for al, y in costs])
    assert judge("cost", "values", by_three) == (False, "fixed_m")
    # the intake reads back only what the declaration expects: of an array, its type name
    as_array = ExerciseResult(True, None, [CallResult(type_name="ndarray")] * len(costs))
    assert judge("cost", "number", as_array) == (False, "not_a_number")

    swapped = _pair_calls([(z, 1 / (1 + np.exp(-z))) for z in cache_in])
    assert judge("cache", "pair", swapped) == (False, "cache_order")
    assert judge("cache", "pair", ExerciseResult(True, None, [CallResult(
        type_name="ndarray")] * len(cache_in))) == (False, "not_pair")
    triple = ExerciseResult(True, None, [CallResult(
        type_name="tuple", value=(1 / (1 + np.exp(-z)), z, z), length=3) for z in cache_in])
    assert judge("cache", "pair", triple) == (False, "not_pair")

    raised = ExerciseResult(True, None, [CallResult(raised=("ValueError", "The truth value of "
                                                            "an array with more than one "
                                                            "element is ambiguous"))] * 2)
    verdict = next(e for e in activations.DECLARATION.exercises if e.name == "relu") \
        .judge("shape", raised, None)
    assert (verdict.passed, verdict.code) == (False, "raised") and "np.maximum" in \
        verdict.message and "ambiguous" not in verdict.message  # never the student's words
    unwritten = ExerciseResult(True, None, [CallResult(raised=("NotImplementedError", ""))] * 2)
    assert judge("cost", "number", unwritten) == (False, "not_implemented")
    assert judge("cost", "number", ExerciseResult(False, None, [])) == (False, "not_defined")
    assert judge("cost", "values", None) == (False, "no_result")
    assert judge("relu", "values", _array_calls([np.maximum(0, relu_in[0])])) == \
        (False, "no_result")  # one call's result missing


# -- the notebook and the declaration say the same (fast) ---------------------------------

def test_notebook_cells_and_points_are_the_declarations():
    from second_assignment.course import MASTER

    nb = nbformat.read(MASTER, as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
             if "nbgrader" in c.metadata}
    tests = {gid for gid, c in cells.items() if c.metadata["nbgrader"].get("grade")}
    declared = {cell.grade_id: cell for ex in EXERCISES.values() for cell in ex.tests}
    assert tests == set(declared)
    for gid, cell in declared.items():
        meta = cells[gid].metadata["nbgrader"]
        assert meta["points"] == cell.points and meta["locked"] and not meta["solution"]
        assert "### BEGIN HIDDEN TESTS" in cells[gid].source  # plain nbgrader grades with them
    for ex in EXERCISES.values():
        answer = cells[ex.answer_cell]
        assert answer.metadata["nbgrader"]["solution"] and \
            f"def {ex.function}(" in answer.source and "### BEGIN SOLUTION" in answer.source
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")


def test_the_course_finds_the_declaration_by_its_config_line(tmp_path):
    """The registry reads the line add_assignment writes; without it there is none."""
    from course_grader.verdict.registry import declaration_for

    declared = make_course_copy(tmp_path / "declared")
    add_assignment(declared)
    found = declaration_for(ASSIGNMENT, declared)
    assert found is not None and found.assignment == ASSIGNMENT
    assert [ex.name for ex in found.exercises] == list(EXERCISES)
    plain = make_course_copy(tmp_path / "plain")
    add_assignment(plain, declared=False)
    assert declaration_for(ASSIGNMENT, plain) is None
    # the declaration lives beside the course, never in what the release copies to students
    assert sorted(p.name for p in (declared / "source" / ASSIGNMENT).iterdir()) == \
        [f"{NOTEBOOK}.ipynb"]
