"""A sample class of submissions: one correct, the untouched release, typical mistakes.

Each submission is the released notebook with the answer cells replaced by
the code a student might write.  The demo grades this class, and the tests
grade it too and compare against ``expected`` (points per exercise, derived
from the exercises' records) and ``diagnoses`` (the mistake the grader names).
An exercise added to the records needs its answer in ``CORRECT``; every
student then answers it correctly unless their submission says otherwise.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat

from .exercises import EXERCISES

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

CORRECT = {"zeros": ZEROS, "random": RANDOM, "he": HE}
ALTERNATIVE = {"zeros": ZEROS_ALT, "random": RANDOM_ALT, "he": HE_ALT}

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
    """Answer code for each exercise, the points each should earn, the mistakes named."""

    student: str
    what: str
    answers: dict = field(default_factory=dict)  # exercise -> code; missing = untouched
    expected: dict = field(default_factory=dict)  # exercise -> points
    diagnoses: dict = field(default_factory=dict)  # exercise -> code of its last failed check


def correct(student: str, what: str, answers: dict | None = None, *,
            exercises: dict = EXERCISES, base: dict = CORRECT) -> Submission:
    """Every exercise right: ``base``'s answers, or the ones given; full points."""
    return Submission(student, what, {**base, **(answers or {})},
                      {name: record.points for name, record in exercises.items()})


def mistaken(student: str, what: str, exercise: str, answer: str, diagnosis: str,
             passes: tuple[str, ...] = (), *, exercises: dict = EXERCISES,
             base: dict = CORRECT) -> Submission:
    """Right but for ``exercise``, which earns only the checks whose part it ``passes``."""
    sub = correct(student, what, {exercise: answer}, exercises=exercises, base=base)
    sub.expected[exercise] = float(sum(check.points for check in exercises[exercise].checks
                                       if check.part in passes))
    sub.diagnoses[exercise] = diagnosis
    return sub


def sample_class() -> list[Submission]:
    """The demo class; the tests grade the same class and expect these points."""
    w_he = "np.random.randn(layers_dims[l], layers_dims[l - 1]) * scale"
    he_scale = "np.sqrt(2 / layers_dims[l - 1])"
    structure = ("structure",)
    return [
        correct("ada_correct", "correct solution"),
        Submission("ben_untouched", "the release, handed in untouched", {},
                   {name: 0.0 for name in EXERCISES}),
        correct("cleo_alternative", "correct, written differently", ALTERNATIVE),
        mistaken("dan_xavier", "Xavier scale sqrt(1/n) used for He", "he",
                 _edit(HE, he_scale, "np.sqrt(1 / layers_dims[l - 1])"), "xavier_scale",
                 structure),
        mistaken("eve_fan_out", "He scaled with the fan-out", "he",
                 _edit(HE, he_scale, "np.sqrt(2 / layers_dims[l])"), "fan_out", structure),
        mistaken("finn_glorot", "Glorot scale used for He", "he",
                 _edit(HE, he_scale, "np.sqrt(2 / (layers_dims[l - 1] + layers_dims[l]))"),
                 "glorot_scale", structure),
        mistaken("gus_transposed", "He weights transposed", "he",
                 _edit(HE, w_he, "np.random.randn(layers_dims[l - 1], layers_dims[l]) * scale"),
                 "transposed"),
        mistaken("hana_swapped", "W and b swapped in zeros", "zeros",
                 _edit(_edit(ZEROS, '"W" + str(l)', '"tmp"'), '"b" + str(l)', '"W" + str(l)')
                 .replace('"tmp"', '"b" + str(l)'), "swapped_w_b"),
        mistaken("ivan_last_layer", "loop stops before the last layer", "random",
                 _edit(RANDOM, "range(1, L + 1)", "range(1, L)"), "missing_last_layer"),
        mistaken("jade_no_seed", "seed line removed", "random",
                 _edit(RANDOM, "    np.random.seed(3)\n", ""), "seed_missing", structure),
        mistaken("kai_reseeded", "seed set again for every layer", "he",
                 _edit(HE, "        scale =", "        np.random.seed(3)\n        scale ="),
                 "reseeded_each_layer", structure),
        mistaken("lena_uniform", "np.random.rand instead of randn", "random",
                 _edit(RANDOM, "np.random.randn(", "np.random.rand("), "uniform_rand",
                 structure),
        mistaken("milo_biases", "non-zero biases in zeros", "zeros",
                 _edit(ZEROS, "np.zeros((layers_dims[l], 1))", "np.ones((layers_dims[l], 1))"),
                 "not_zero", structure),
        mistaken("nora_hard_coded", "He output typed in from the example", "he",
                 HE_HARD_CODED, "hard_coded"),
        mistaken("omar_int_zeros", "integer zeros", "zeros",
                 _edit(ZEROS, "layers_dims[l - 1]))", "layers_dims[l - 1]), dtype=int)"),
                 "not_float"),
        mistaken("pia_flat_bias", "biases of shape (n,)", "he",
                 _edit(HE, "np.zeros((layers_dims[l], 1))", "np.zeros(layers_dims[l])"),
                 "bias_flat"),
        mistaken("quin_he_for_random", "He scale in the large-random exercise", "random",
                 _edit(RANDOM, "* 10", "* np.sqrt(2 / layers_dims[l - 1])"), "he_scale",
                 structure),
        correct("rosa_warning", "correct, but prints a library warning", {"he": HE_WITH_WARNING}),
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


def write_submission(release_nb: Path, submission: Submission, dest_dir: Path,
                     exercises: dict = EXERCISES) -> Path:
    """Write ``submission`` into ``dest_dir`` under the released notebook's name."""
    nb = nbformat.read(release_nb, as_version=4)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for name, record in exercises.items():
            if grade_id == record.answer_cell and name in submission.answers:
                cell.source = submission.answers[name].strip("\n")
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / release_nb.name
    nbformat.write(nb, path)
    return path
