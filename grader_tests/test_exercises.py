"""The exercises as records: they agree with the notebook's examples, and a new one is
graded from its record alone.

Adding a graded exercise should take its notebook cells, one record and its
sample submissions.  The last tests prove it on a copy of the course whose
optional Xavier exercise is promoted to a graded one, without touching a file
of the grader: the record goes into the assignment's records
(``course_grader.assignments.initialization.EXERCISES``, where a course engineer adds it) and
nothing else is handed over; the notebook is graded by ``TrustedVerdict``, the step
``nbgrader autograde`` and the class grader run, configured only with the course folder.
"""

from __future__ import annotations

import re
import shutil

import nbformat
import numpy as np
import pytest
from traitlets.config import Config

import self_check
from course_grader.assignments.initialization import EXERCISES
from course_grader.assignments.initialization.exercises import drawing_mistakes, graded
from course_grader.assignments.initialization.record import Exercise, Mistake
from course_grader.assignments.initialization.reference import Weights, he_scale, xavier_scale
from course_grader.assignments.initialization.sample_class import (
    CORRECT,
    correct,
    mistaken,
    write_submission,
)
from course_grader.verdict.child import GraderBroken
from course_grader.verdict.grading import GradingSetup
from course_grader.verdict.preprocessor import ENAME, TrustedVerdict
from course_paths import SOURCE_DIR


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_visible_example_is_the_records_example(name):
    """self_check.py ships to students and cannot import the records: its table of the
    notebook's examples must say what the records say."""
    record, example = EXERCISES[name], self_check.EXAMPLES[name]
    assert tuple(example["dims"]) == record.example_dims
    reference = record.reference(list(record.example_dims))
    shown = sorted(key for key in example if key.startswith("W"))
    if not record.weights.random:
        assert shown == []  # the visible check then wants every value to be 0
        return
    assert shown == [f"W{l}" for l in range(1, len(record.example_dims))]
    for key in shown:
        np.testing.assert_allclose(example[key], reference[key], atol=1e-7)


# -- a fourth graded exercise ------------------------------------------------------------

XAVIER_WEIGHTS = Weights(xavier_scale)
# the one record the new exercise needs
XAVIER = Exercise(
    name="xavier", function="initialize_parameters_xavier", checks=graded("xavier"),
    weights=XAVIER_WEIGHTS, recipe="randn(...) * sqrt(1 / n[l-1])", example_dims=(2, 4, 1),
    mistakes=drawing_mistakes(XAVIER_WEIGHTS) + (
        Mistake("he_scale", Weights(he_scale),
                "The weights use He's scale sqrt(2 / n[l-1]); Xavier's scale has a 1 in the "
                "numerator: sqrt(1 / n[l-1])."),
    ))
WITH_XAVIER = {**EXERCISES, "xavier": XAVIER}

# its sample submissions
XAVIER_ANSWER = '''
def initialize_parameters_xavier(layers_dims):
    np.random.seed(3)
    parameters = {}
    for l in range(1, len(layers_dims)):
        scale = np.sqrt(1 / layers_dims[l - 1])
        parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * scale
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters
'''
ANSWERS = {**CORRECT, "xavier": XAVIER_ANSWER}
RIGHT = correct("xia_correct", "correct, Xavier included", exercises=WITH_XAVIER, base=ANSWERS)
HE_FOR_XAVIER = mistaken("yuri_he_for_xavier", "He's scale in the Xavier exercise", "xavier",
                         XAVIER_ANSWER.replace("np.sqrt(1 /", "np.sqrt(2 /"), "he_scale",
                         ("structure",), exercises=WITH_XAVIER, base=ANSWERS)
TRANSPOSED = mistaken("zoe_transposed", "Xavier weights transposed", "xavier",
                      XAVIER_ANSWER.replace("randn(layers_dims[l], layers_dims[l - 1])",
                                            "randn(layers_dims[l - 1], layers_dims[l])"),
                      "transposed", exercises=WITH_XAVIER, base=ANSWERS)


def _graded_cell(grade_id: str, points: float, call: str):
    cell = nbformat.v4.new_code_cell(
        f"{call}\n### BEGIN HIDDEN TESTS\n# scored outside the student's kernel\n"
        "### END HIDDEN TESTS")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True,
                                 "points": points, "schema_version": 3, "solution": False,
                                 "task": False}
    return cell


@pytest.fixture(scope="module")
def course_with_xavier(tmp_path_factory):
    """The source folder, copied, with two graded test cells after the Xavier answer."""
    source = tmp_path_factory.mktemp("fourth") / "source" / "initialization"
    shutil.copytree(SOURCE_DIR, source,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    path = source / "Initialization.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer = next(i for i, cell in enumerate(nb.cells)
                  if cell.metadata.get("nbgrader", {}).get("grade_id") == XAVIER.answer_cell)
    for offset, check in enumerate(XAVIER.checks, start=1):
        call = f"self_check.{check.grade_id}({XAVIER.function})"
        nb.cells.insert(answer + offset, _graded_cell(check.grade_id, check.points, call))
    nbformat.write(nb, path)
    return source


@pytest.fixture
def xavier_recorded(monkeypatch):
    """The one edit of the grader a new exercise needs: its record among the others."""
    monkeypatch.setitem(EXERCISES, "xavier", XAVIER)


def autograde(source, sub, tmp_path, sandboxed: bool):
    """``sub`` graded by the TrustedVerdict step, as nbgrader's autograde runs it: the
    course folder from the config, everything else from the default records.

    -> (points, diagnosis code, message) per exercise
    """
    submitted = write_submission(source / "Initialization.ipynb", sub, tmp_path / "student")
    nb = nbformat.read(submitted, as_version=4)
    step = TrustedVerdict(sandboxed=sandboxed, config=Config(
        {"CourseDirectory": {"root": str(source.parent.parent)}}))
    nb, resources = step.preprocess(nb, {"nbgrader": {"assignment": source.name,
                                                      "notebook": "Initialization"}})
    exercise_of = {check.grade_id: name for name, record in EXERCISES.items()
                   for check in record.checks}
    points, codes, messages = {}, {}, {}
    for grade_id, verdict in resources["course_grader"]["verdicts"].items():
        exercise = exercise_of[grade_id]
        points[exercise] = points.get(exercise, 0.0) + verdict["points"]
        if not verdict["passed"]:
            codes[exercise] = verdict["code"]
    for cell in nb.cells:  # what the formgrader and the feedback show
        errors = [o for o in cell.get("outputs", []) if o.get("ename") == ENAME]
        if errors:
            messages[exercise_of[cell.metadata.nbgrader.grade_id]] = \
                errors[0].evalue.rsplit(" [diagnosis:", 1)[0]
    return points, codes, messages


def test_without_its_record_the_new_test_cells_are_refused(course_with_xavier):
    with pytest.raises(GraderBroken, match="xavier_structure"):
        GradingSetup.from_course(course_with_xavier.parent.parent, "initialization",
                                 "Initialization")


@pytest.mark.parametrize("sub", [RIGHT, HE_FOR_XAVIER, TRANSPOSED], ids=lambda s: s.student)
def test_a_fourth_exercise_is_graded_from_its_record(course_with_xavier, xavier_recorded,
                                                     tmp_path, sub):
    setup = GradingSetup.from_course(course_with_xavier.parent.parent, "initialization",
                                     "Initialization")
    assert {gid for gid, (name, _, _) in setup.tests.items() if name == "xavier"} == \
        {"xavier_structure", "xavier_values"}
    points, codes, messages = autograde(course_with_xavier, sub, tmp_path, sandboxed=False)
    assert points == sub.expected, codes
    assert sum(points.values()) == sum(sub.expected.values())
    assert codes == sub.diagnoses
    if sub is HE_FOR_XAVIER:
        assert messages["xavier"] == XAVIER.mistakes[-1].message


@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing")
def test_a_fourth_exercise_is_graded_in_the_sandbox_too(course_with_xavier, xavier_recorded,
                                                        tmp_path):
    points, codes, _ = autograde(course_with_xavier, HE_FOR_XAVIER, tmp_path, sandboxed=True)
    assert points == HE_FOR_XAVIER.expected and codes == {"xavier": "he_scale"}


def test_the_new_exercise_has_its_visible_checks(capsys):
    """The notebook's new test cells call self_check.xavier_structure and xavier_values:
    self_check.py names a structure and a values check after every example it holds."""
    namespace = {"np": np}
    exec(HE_FOR_XAVIER.answers["xavier"], namespace)  # noqa: S102 - our own sample
    wrong = namespace["initialize_parameters_xavier"]
    exec(XAVIER_ANSWER, namespace)  # noqa: S102
    right = namespace["initialize_parameters_xavier"]
    for check in XAVIER.checks:
        getattr(self_check, check.grade_id)(right)
    assert capsys.readouterr().out.count("Visible checks passed") == len(XAVIER.checks)
    self_check.xavier_structure(wrong)
    with pytest.raises(self_check.CheckFailed, match=re.escape("1.414 times the expected")):
        self_check.xavier_values(wrong)


# -- one catalogue of mistakes: the visible checks name them as the grader does ----------

def test_the_shipped_catalogue_is_what_the_records_give_now():
    """self_check.py reads visible_mistakes.json; it must hold the records' messages and
    weights as they are now (regenerate with python3 tasks.py release)."""
    from course_grader.assignments.initialization import catalogue

    shipped = SOURCE_DIR / catalogue.FILE_NAME
    assert shipped.read_text() == catalogue.text(), (
        f"{catalogue.FILE_NAME} is stale: run python3 tasks.py release and commit")


def test_the_catalogue_holds_only_sizes_students_see():
    from course_grader.assignments.initialization import catalogue

    for name, entry in catalogue.build()["exercises"].items():
        for example in entry["examples"]:
            assert tuple(example["dims"]) not in EXERCISES[name].grading_dims or \
                tuple(example["dims"]) == (2, 10, 5, 1), example["dims"]
            assert tuple(example["dims"]) in EXERCISES[name].visible_dims


def test_the_second_he_example_separates_the_scales():
    """In [2, 4, 1] layer 1's He factor is exactly 1; in the second example every
    catalogued scale gives a different factor in every layer."""
    record = EXERCISES["he"]
    [dims] = record.more_example_dims
    for l in range(1, len(dims)):
        factors = [record.weights.scale(dims[l - 1], dims[l])]
        factors += [m.weights.scale(dims[l - 1], dims[l]) for m in record.mistakes
                    if not (m.weights.reseed_each_layer or m.weights.transpose_draw
                            or m.weights.biases_drawn or m.weights.draw != "randn")]
        assert len({round(f, 9) for f in factors}) == len(factors), (l, factors)


def _drawn_like(weights):
    """A student's function that draws from the global generator, as students do."""
    def initialize(layers_dims):
        np.random.seed(3)
        parameters = {}
        for l in range(1, len(layers_dims)):
            n_prev, n = layers_dims[l - 1], layers_dims[l]
            if weights.reseed_each_layer:
                np.random.seed(3)
            sample = np.random.rand if weights.draw == "rand" else np.random.randn
            W = sample(n_prev, n).T if weights.transpose_draw else sample(n, n_prev)
            parameters[f"W{l}"] = W * weights.scale(n_prev, n)
            parameters[f"b{l}"] = (np.random.randn(n, 1) * weights.scale(n_prev, n)
                                   if weights.biases_drawn else np.zeros((n, 1)))
        return parameters
    initialize.__name__ = "initialize_parameters_student"
    return initialize


def _unseeded(layers_dims):
    return {key: value for l in range(1, len(layers_dims)) for key, value in (
        (f"W{l}", np.random.randn(layers_dims[l], layers_dims[l - 1])),
        (f"b{l}", np.zeros((layers_dims[l], 1))))}


def _ones_for_bias(record):
    def initialize(layers_dims):
        return {k: v + 1.0 if k.startswith("b") else v
                for k, v in record.reference(layers_dims).items()}
    return initialize


def _zeros_call_slip(layers_dims):
    return {"W1": np.zeros(layers_dims[1], layers_dims[0])}


def _randn_call_slip(layers_dims):
    np.random.seed(3)
    return {"W1": np.random.randn((layers_dims[1], layers_dims[0]))}


def _catalogued_cases():
    """(exercise, how, function, the code both must give): every mistake of the records,
    and the grader's other diagnoses that a visible values check can meet."""
    cases = []
    for name, record in EXERCISES.items():
        for mistake in record.mistakes:
            cases.append((name, mistake.code, _drawn_like(mistake.weights), mistake.code))
        if record.weights.random:
            cases.append((name, "unseeded", _unseeded, "seed_missing"))
            cases.append((name, "biases of 1", _ones_for_bias(record), "bias_not_zero"))
        else:
            cases.append((name, "ones", lambda d, r=record: {
                k: v + 1.0 for k, v in r.reference(d).items()}, "not_zero"))
        cases.append((name, "np.zeros(a, b)", _zeros_call_slip, "raised"))
        cases.append((name, "randn((a, b))", _randn_call_slip, "raised"))
    return cases


def _grader_verdict(record, func):
    """The hidden checks on what ``func`` returns for the grading calls, as the child runs
    them (the global generator disturbed before the last call)."""
    from course_grader.assignments.initialization import checks, visible
    from course_grader.verdict.intake import CallResult, ExerciseResult

    calls = []
    for plan in checks.planned_calls(record.grading_dims):
        if plan.disturb is not None:
            np.random.seed(plan.disturb)
        try:
            params = func(list(plan.args[0]))
        except Exception as error:  # noqa: BLE001 - the child reports any error this way
            calls.append(CallResult(raised=(type(error).__name__, str(error))))
            continue
        calls.append(CallResult(type_name="dict", keys=list(params),
                                value={k: v for k, v in params.items()}))
    structure = visible.structure_check(
        {"self_check.py": (SOURCE_DIR / "self_check.py").read_bytes()})
    result = ExerciseResult(True, None, calls)
    for part in ("structure", "values"):
        verdict = checks.judge(record, part, result, structure)
        if not verdict.passed:
            return verdict
    return verdict


@pytest.mark.parametrize("exercise, how, func, code", _catalogued_cases(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_visible_check_and_grader_give_a_mistake_the_same_name(exercise, how, func, code):
    verdict = _grader_verdict(EXERCISES[exercise], func)
    assert not verdict.passed and verdict.code == code, verdict
    with pytest.raises(self_check.CheckFailed) as failed:
        self_check.__dict__[f"{exercise}_structure"](func)
        self_check.__dict__[f"{exercise}_values"](func)
    message = str(failed.value)
    assert failed.value.code == code, message
    if code != "raised":  # the grader's words, whole
        assert verdict.message in message
    else:  # the same one-line hint, not a traceback
        hint = message.rsplit("[diagnosis:", 1)[0].split("raised TypeError: ", 1)[1].strip()
        assert "\n" not in message and hint in verdict.message
        assert "np.zeros((rows, cols))" in hint or "np.random.randn(rows, cols)" in hint
