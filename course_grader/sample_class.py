"""A sample class of submissions: one correct, the untouched release, typical mistakes.

Each submission is the released notebook with the answer cells replaced by
the code a student might write.  The demo grades this class, and the tests
grade it too and compare against ``expected`` (points per exercise).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat

from .assignment import ANSWER_CELLS, NOTEBOOK

ZEROS = '''
def initialize_parameters_zeros(layers_dims):
    parameters = {}
    L = len(layers_dims) - 1
    for l in range(1, L + 1):
        parameters["W" + str(l)] = np.zeros((layers_dims[l], layers_dims[l - 1]))
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters
'''

RANDOM = '''
def initialize_parameters_random(layers_dims):
    np.random.seed(3)
    parameters = {}
    L = len(layers_dims) - 1
    for l in range(1, L + 1):
        parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * 10
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters
'''

HE = '''
def initialize_parameters_he(layers_dims):
    np.random.seed(3)
    parameters = {}
    L = len(layers_dims) - 1
    for l in range(1, L + 1):
        scale = np.sqrt(2 / layers_dims[l - 1])
        parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * scale
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters
'''

# Correct, but written the other ways students write it.
ZEROS_ALT = '''
def initialize_parameters_zeros(layers_dims):
    return {
        key: value
        for l in range(1, len(layers_dims))
        for key, value in ((f"W{l}", np.zeros([layers_dims[l], layers_dims[l - 1]])),
                           (f"b{l}", np.zeros([layers_dims[l], 1])))
    }
'''

RANDOM_ALT = '''
def initialize_parameters_random(layers_dims):
    np.random.seed(3)
    parameters = {}
    for l in range(1, len(layers_dims)):
        shape = (layers_dims[l], layers_dims[l - 1])
        parameters[f"W{l}"] = np.random.normal(0, 10, shape)
        parameters[f"b{l}"] = np.zeros((shape[0], 1))
    return parameters
'''

HE_ALT = '''
def initialize_parameters_he(layers_dims):
    np.random.seed(3)
    parameters = {}
    for l in range(1, len(layers_dims)):
        shape = (layers_dims[l], layers_dims[l - 1])
        parameters[f"W{l}"] = np.random.randn(*shape) * (2 / layers_dims[l - 1]) ** 0.5
        parameters[f"b{l}"] = np.zeros(shape[:1] + (1,))
    return parameters
'''

HE_HARD_CODED = '''
def initialize_parameters_he(layers_dims):
    return {
        "W1": np.array([[1.78862847, 0.43650985], [0.09649747, -1.8634927],
                        [-0.2773882, -0.35475898], [-0.08274148, -0.62700068]]),
        "b1": np.zeros((4, 1)),
        "W2": np.array([[-0.03098412, -0.33744411, -0.92904268, 0.62552248]]),
        "b2": np.zeros((1, 1)),
    }
'''

HE_WITH_WARNING = HE.replace(
    "    np.random.seed(3)\n",
    "    import warnings\n"
    "    warnings.warn('a harmless library warning', UserWarning)\n"
    "    np.random.seed(3)\n")


def _edit(code: str, old: str, new: str) -> str:
    if old not in code:
        raise ValueError(f"mutation does not apply: {old!r}")
    return code.replace(old, new)


@dataclass
class Submission:
    """Answer code for each exercise, and the points each exercise should earn."""

    student: str
    what: str
    answers: dict = field(default_factory=dict)  # exercise -> code; missing = untouched
    expected: dict = field(default_factory=dict)  # exercise -> points


def _sub(student, what, expected, zeros=ZEROS, random=RANDOM, he=HE):
    answers = {"zeros": zeros, "random": random, "he": he}
    return Submission(student, what, answers, dict(zip(("zeros", "random", "he"), expected)))


def sample_class() -> list[Submission]:
    """The demo class; the tests grade the same class and expect these points."""
    w_he = "np.random.randn(layers_dims[l], layers_dims[l - 1]) * scale"
    return [
        _sub("ada_correct", "correct solution", (10, 10, 10)),
        Submission("ben_untouched", "the release, handed in untouched", {},
                   {"zeros": 0, "random": 0, "he": 0}),
        _sub("cleo_alternative", "correct, written differently", (10, 10, 10),
             ZEROS_ALT, RANDOM_ALT, HE_ALT),
        _sub("dan_xavier", "Xavier scale sqrt(1/n) used for He", (10, 10, 4),
             he=_edit(HE, "np.sqrt(2 / layers_dims[l - 1])", "np.sqrt(1 / layers_dims[l - 1])")),
        _sub("eve_fan_out", "He scaled with the fan-out", (10, 10, 4),
             he=_edit(HE, "np.sqrt(2 / layers_dims[l - 1])", "np.sqrt(2 / layers_dims[l])")),
        _sub("finn_glorot", "Glorot scale used for He", (10, 10, 4),
             he=_edit(HE, "np.sqrt(2 / layers_dims[l - 1])",
                      "np.sqrt(2 / (layers_dims[l - 1] + layers_dims[l]))")),
        _sub("gus_transposed", "He weights transposed", (10, 10, 0),
             he=_edit(HE, w_he, "np.random.randn(layers_dims[l - 1], layers_dims[l]) * scale")),
        _sub("hana_swapped", "W and b swapped in zeros", (0, 10, 10),
             zeros=_edit(_edit(ZEROS, '"W" + str(l)', '"tmp"'), '"b" + str(l)', '"W" + str(l)')
             .replace('"tmp"', '"b" + str(l)')),
        _sub("ivan_last_layer", "loop stops before the last layer", (10, 0, 10),
             random=_edit(RANDOM, "range(1, L + 1)", "range(1, L)")),
        _sub("jade_no_seed", "seed line removed", (10, 4, 10),
             random=_edit(RANDOM, "    np.random.seed(3)\n", "")),
        _sub("kai_reseeded", "seed set again for every layer", (10, 10, 4),
             he=_edit(HE, "        scale =", "        np.random.seed(3)\n        scale =")),
        _sub("lena_uniform", "np.random.rand instead of randn", (10, 4, 10),
             random=_edit(RANDOM, "np.random.randn(", "np.random.rand(")),
        _sub("milo_biases", "non-zero biases in zeros", (4, 10, 10),
             zeros=_edit(ZEROS, "np.zeros((layers_dims[l], 1))", "np.ones((layers_dims[l], 1))")),
        _sub("nora_hard_coded", "He output typed in from the example", (10, 10, 0),
             he=HE_HARD_CODED),
        _sub("omar_int_zeros", "integer zeros", (0, 10, 10),
             zeros=_edit(ZEROS, "layers_dims[l - 1]))", "layers_dims[l - 1]), dtype=int)")),
        _sub("pia_flat_bias", "biases of shape (n,)", (10, 10, 0),
             he=_edit(HE, "np.zeros((layers_dims[l], 1))", "np.zeros(layers_dims[l])")),
        _sub("quin_he_for_random", "He scale in the large-random exercise", (10, 4, 10),
             random=_edit(RANDOM, "* 10", "* np.sqrt(2 / layers_dims[l - 1])")),
        _sub("rosa_warning", "correct, but prints a library warning", (10, 10, 10),
             he=HE_WITH_WARNING),
    ]


# The sample class's deadline, and when each student handed in: most a few
# hours early, two late, so the formgrader's Timestamp column and the LMS
# exports show both kinds.
DUE = datetime(2025, 3, 14, 17, 0, tzinfo=timezone.utc)
LATE = {"jade_no_seed": timedelta(hours=2, minutes=5),
        "rosa_warning": timedelta(days=1, hours=3, minutes=30)}


def submitted_at(student: str, position: int) -> datetime:
    """When ``student`` (the ``position``-th of the class) handed in: fixed, not random."""
    if student in LATE:
        return DUE + LATE[student]
    return DUE - timedelta(hours=1 + position, minutes=7 * position % 60)


def write_submission(release_nb: Path, submission: Submission, dest_dir: Path) -> Path:
    """Write ``submission`` as ``dest_dir/Initialization.ipynb``, based on the release."""
    nb = nbformat.read(release_nb, as_version=4)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for exercise, cell_id in ANSWER_CELLS.items():
            if grade_id == cell_id and exercise in submission.answers:
                cell.source = submission.answers[exercise].strip("\n")
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{NOTEBOOK}.ipynb"
    nbformat.write(nb, path)
    return path
