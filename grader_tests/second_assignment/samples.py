"""Sample submissions of the "activations" assignment, with the points each must get.

Each submission is the released notebook with some answer cells replaced by
code a student might write.  ``expected`` (points per exercise) is derived
from the declaration's test cells and the parts a submission passes, so the
points live in one place; ``diagnoses`` names the code of the check that fails
(the last failing test cell of the exercise).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .declaration import DECLARATION

ASSIGNMENT = DECLARATION.assignment
NOTEBOOK = "Activations"
EXERCISES = {ex.name: ex for ex in DECLARATION.exercises}

RELU = '''
def relu(Z):
    A = np.maximum(0, Z)
    return A
'''

SIGMOID = '''
def sigmoid(Z):
    A = 1 / (1 + np.exp(-Z))
    return A
'''

CACHE = '''
def sigmoid_with_cache(Z):
    A = 1 / (1 + np.exp(-Z))
    cache = Z
    return A, cache
'''

COST = '''
def binary_cross_entropy(AL, Y):
    m = Y.shape[1]
    cost = -np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / m
    return float(cost)
'''

CORRECT = {"relu": RELU, "sigmoid": SIGMOID, "cache": CACHE, "cost": COST}

# correct, written the other ways students write them
ALTERNATIVE = {
    "relu": '''
def relu(Z):
    return Z * (Z > 0)
''',
    "sigmoid": '''
def sigmoid(Z):
    return np.exp(-np.logaddexp(0, -Z))
''',
    "cost": '''
def binary_cross_entropy(AL, Y):
    return -np.mean(np.log(np.where(Y == 1, AL, 1 - AL)))
''',
}


# a piece of the message each diagnosis must come with: what the student reads
MESSAGES = {
    "not_implemented": "is not implemented yet",
    "not_defined": "is not defined in its answer cell",
    "raised": "np.maximum",  # the hint for Python's max on an array
    "sign_flipped": "the sign in the exponent is flipped",
    "no_mean": "not their mean",
    "wrong_sign": "the minus sign in front of the mean is missing",
    "cache_order": "returned (cache, A)",
    "relu_mask": "ReLU keeps each positive entry",
    "fixed_m": "m is Y.shape[1]",
}


def _edit(code: str, old: str, new: str) -> str:
    if old not in code:
        raise ValueError(f"mutation does not apply: {old!r}")
    return code.replace(old, new)


@dataclass
class Submission:
    student: str
    what: str
    answers: dict = field(default_factory=dict)  # exercise -> code; missing = untouched
    expected: dict = field(default_factory=dict)  # exercise -> points
    diagnoses: dict = field(default_factory=dict)  # exercise -> diagnosis code


def points(exercise: str, passes: tuple[str, ...] = ()) -> float:
    """The points of ``exercise``'s test cells whose part is in ``passes``."""
    return float(sum(cell.points for cell in EXERCISES[exercise].tests if cell.part in passes))


def full(exercise: str) -> float:
    return float(sum(cell.points for cell in EXERCISES[exercise].tests))


def correct(student: str, what: str, answers: dict | None = None) -> Submission:
    return Submission(student, what, {**CORRECT, **(answers or {})},
                      {name: full(name) for name in EXERCISES})


def mistaken(student: str, what: str, exercise: str, answer: str, diagnosis: str,
             passes: tuple[str, ...] = ()) -> Submission:
    sub = correct(student, what, {exercise: answer})
    sub.expected[exercise] = points(exercise, passes)
    sub.diagnoses[exercise] = diagnosis
    return sub


def sample_class() -> list[Submission]:
    return [
        correct("amy_correct", "correct solution"),
        Submission("bob_untouched", "the release, handed in untouched", {},
                   {name: 0.0 for name in EXERCISES},
                   {name: "not_implemented" for name in EXERCISES}),
        correct("cat_alternative", "correct, written differently", ALTERNATIVE),
        mistaken("dev_sign", "sigmoid with exp(Z) instead of exp(-Z)", "sigmoid",
                 _edit(SIGMOID, "np.exp(-Z)", "np.exp(Z)"), "sign_flipped", ("shape",)),
        mistaken("eva_sum", "the cost's sum, not its mean", "cost",
                 _edit(COST, ") / m", ")"), "no_mean", ("number",)),
        mistaken("fox_sign", "the cost without its minus sign", "cost",
                 _edit(COST, "cost = -np.sum", "cost = np.sum"), "wrong_sign", ("number",)),
        mistaken("gil_python_max", "relu with Python's max (raises)", "relu",
                 _edit(RELU, "np.maximum(0, Z)", "max(0, Z)"), "raised"),
        mistaken("hal_swapped", "the pair returned as (cache, A)", "cache",
                 _edit(CACHE, "return A, cache", "return cache, A"), "cache_order"),
        mistaken("ida_missing", "the cost's answer cell left empty", "cost", "",
                 "not_defined"),
        mistaken("jon_mask", "relu returning the mask Z > 0", "relu",
                 _edit(RELU, "np.maximum(0, Z)", "(Z > 0).astype(float)"), "relu_mask",
                 ("shape",)),
        # passes the notebook's visible check (m = 3 there): only hidden inputs catch it
        mistaken("kim_fixed_m", "the cost divided by 3, the example's m", "cost",
                 _edit(COST, ") / m", ") / 3"), "fixed_m", ("number",)),
    ]


def write_submission(release_nb: Path, submission: Submission, dest_dir: Path) -> Path:
    """``dest_dir/Activations.ipynb``: the release with ``submission``'s answers in."""
    nb = copy.deepcopy(nbformat.read(release_nb, as_version=4))
    cells = {ex.answer_cell: name for name, ex in EXERCISES.items()}
    for cell in nb.cells:
        name = cells.get(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
        if name in submission.answers:
            cell.source = submission.answers[name].strip("\n")
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{NOTEBOOK}.ipynb"
    nbformat.write(nb, path)
    return path


def write_class(course: Path, submissions: list[Submission]) -> None:
    release_nb = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    for sub in submissions:
        write_submission(release_nb, sub, course / "submitted" / sub.student / ASSIGNMENT)
