"""The adversarial class, built from a real release notebook at test time.

Each case is a submission folder plus what the batch grader must make of it:
the points per exercise (None: not gradable) and the status.  Attacks on the
sandbox are written so that a *successful* attack changes the grade: a
student who managed to read the solutions, reach the network or rewrite the
gradebook would get a different score than the one expected here.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_grader.assignments.initialization import EXERCISES
from course_grader.assignments.initialization.sample_class import HE, HE_WITH_WARNING, RANDOM, ZEROS
from course_grader.cells import grade_id_of
from course_paths import ASSIGNMENT, NOTEBOOK

HE_XAVIER = HE.replace("np.sqrt(2 / layers_dims[l - 1])", "np.sqrt(1 / layers_dims[l - 1])")
BROKEN_ZEROS = '''
def initialize_parameters_zeros(layers_dims):
    return {}
'''


def marks(**earned) -> tuple[float, ...]:
    """Points per exercise (EXERCISES order) from the exercises' records: full marks
    unless ``earned`` names the exercise, with a number or a part of it ("structure":
    the points of its structure check alone)."""
    assert set(earned) <= set(EXERCISES), earned

    def points(name, record) -> float:
        got = earned.get(name)
        if got is None:
            return record.points
        if isinstance(got, str):
            return sum(check.points for check in record.checks if check.part == got)
        return float(got)

    return tuple(points(name, record) for name, record in EXERCISES.items())


FULL = marks()
NO_MARKS = marks(**dict.fromkeys(EXERCISES, 0))


@dataclass
class Case:
    student: str
    what: str
    exercises: tuple | None  # points per exercise (EXERCISES order), None when ungradable
    status: str  # the status, or its prefix for "failed: <reason>"

    @property
    def total(self):
        return None if self.exercises is None else sum(self.exercises)


def index_of(nb, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if grade_id_of(c) == gid)


def answered(release, zeros=ZEROS, random=RANDOM, he=HE):
    nb = copy.deepcopy(release)
    for exercise, code in (("zeros", zeros), ("random", random), ("he", he)):
        nb.cells[index_of(nb, EXERCISES[exercise].answer_cell)].source = code.strip("\n")
    return nb


def insert_cell(nb, position: int, source: str):
    nb.cells.insert(position, nbformat.v4.new_code_cell(source))
    return nb


def _write(folder: Path, nb=None, text: str | None = None, name: str = f"{NOTEBOOK}.ipynb"):
    folder.mkdir(parents=True, exist_ok=True)
    if nb is not None:
        nbformat.write(nb, folder / name)
    else:
        (folder / name).write_text(text)


def build(course: Path, sandbox_probe: dict) -> list[Case]:
    """Write every case into ``course/submitted`` and return the expectations.

    ``sandbox_probe`` names what an attack would aim at: ``course`` (absolute
    path), ``ports`` (loopback ports with a listener: the test's own and the
    PostgreSQL server's).
    """
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    setup = index_of(release, "setup")
    cases: list[Case] = []
    root = str(course)

    def add(student, what, exercises, status, nb=None, text=None, name=f"{NOTEBOOK}.ipynb"):
        _write(course / "submitted" / student / ASSIGNMENT, nb, text, name)
        cases.append(Case(student, what, exercises, status))

    add("correct", "correct solution", FULL, "graded", answered(release))
    add("untouched", "the release handed in untouched", NO_MARKS, "graded", release)
    add("invalid_json", "not JSON at all", None, "failed", text="{this is not json")
    whole = nbformat.writes(answered(release))
    add("truncated", "file cut off half way", None, "failed", text=whole[: len(whole) // 2])
    add("not_notebook", "JSON but no notebook", None, "failed", text=json.dumps({"hello": 1}))
    (course / "submitted" / "no_notebook" / ASSIGNMENT).mkdir(parents=True)
    (course / "submitted" / "no_notebook" / ASSIGNMENT / "notes.txt").write_text("oops")
    cases.append(Case("no_notebook", "folder without a notebook", None, "failed"))
    add("renamed", "notebook saved under another name", FULL, "repaired",
        answered(release), name="Initialization-Copy1.ipynb")
    nb = answered(release)
    _write(course / "submitted" / "extra_notebook" / ASSIGNMENT, answered(release),
           name="scratch.ipynb")
    add("extra_notebook", "an extra scratch notebook", FULL, "graded", nb)

    nb = answered(release)
    del nb.cells[index_of(nb, "he_values")]
    add("deleted_test", "a test cell deleted", FULL, "repaired", nb)

    nb = answered(release)
    he_at = index_of(nb, "he_answer")
    earlier = copy.deepcopy(nb.cells[he_at])  # raw copy: same cell id and grade id
    earlier.source = HE_XAVIER.strip("\n")
    nb.cells.insert(he_at, earlier)
    add("dup_answer", "answer cell pasted twice, last copy correct", FULL,
        "repaired", nb)

    nb = answered(release)
    at = index_of(nb, "zeros_structure")
    nb.cells.insert(at + 1, copy.deepcopy(nb.cells[at]))
    add("dup_test", "test cell pasted twice", FULL, "repaired", nb)

    nb = answered(release, he=HE_XAVIER)
    nb.cells[index_of(nb, "he_values")].source = "pass"
    add("test_pass", "wrong He, its test cell edited to pass", marks(he="structure"),
        "repaired", nb)

    nb = answered(release, he=HE_XAVIER)
    at = index_of(nb, "he_values")
    cell = nb.cells[at]
    nb.cells[at] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
    add("test_markdown", "wrong He, its test cell turned into markdown", marks(he="structure"),
        "repaired", nb)

    nb = answered(release)
    nb.cells[index_of(nb, "zeros_values")].metadata.nbgrader["points"] = 100
    add("points_changed", "points raised in the metadata", FULL, "repaired", nb)

    nb = answered(release)
    nb.cells[index_of(nb, "he_answer")].metadata.pop("nbgrader")
    add("metadata_stripped", "answer cell lost its nbgrader metadata", FULL,
        "repaired", nb)

    add("loop_in_function", "He loops forever", marks(he=0), "timed out",
        answered(release, he=HE.replace("    np.random.seed(3)\n",
                                        "    while True:\n        pass\n")))

    ignore = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
              "while True:\n    pass\n")
    # the verdict comes from a separate child, so a kernel stopped before an exercise
    # costs no points; the status still says what happened
    add("sigint_ignored", "a loop that ignores SIGINT before the He answer", FULL,
        "timed out", insert_cell(answered(release), index_of(release, "he_answer"), ignore))

    add("sleep_top", "time.sleep at top level", FULL, "timed out",
        insert_cell(answered(release), setup + 1, "import time\ntime.sleep(3600)"))

    add("os_exit", "os._exit before the He exercise", FULL, "kernel died",
        insert_cell(answered(release), index_of(release, "he_answer"),
                    "import os\nos._exit(0)"))

    # 4 GiB blocks, filled: 32 GiB in all without a cap (more than the machine has);
    # the cap refuses the first block at once, so this costs no time
    bomb = ("hog = []\nfor _ in range(8):\n    block = np.empty(4 * 1024**3 // 8)\n"
            "    block.fill(1.0)\n    hog.append(block)")
    # a MemoryError inside the kernel is only the kernel's word: statuses come from
    # what the grader saw itself (exit codes, deadlines), so this one reads "graded"
    add("memory_bomb", "allocates far more than the memory cap", FULL,
        "graded", insert_cell(answered(release), setup + 1, bomb))

    bomb = ("import os, time\n"
            "def bomb():\n"
            "    while True:\n"
            "        if os.fork() == 0:  # every child forks on as well\n"
            "            try:\n"
            "                bomb()\n"
            "            finally:\n"
            "                time.sleep(20)\n"
            "                os._exit(0)\n"
            "bomb()")
    nb = answered(release)
    add("fork_bomb", "fork bomb", FULL, "graded",
        insert_cell(nb, len(nb.cells), bomb))

    add("big_output", "300 000 lines of output", FULL, "graded",
        insert_cell(answered(release), setup + 1,
                    "import sys\n"
                    "sys.stdout.write(''.join(f'line {i}\\n' for i in range(300000)))"))

    add("stderr_warning", "correct, with a library warning on stderr", FULL, "graded",
        answered(release, he=HE_WITH_WARNING))

    patch_np = ("np.testing.assert_allclose = lambda *a, **k: None\n"
                "np.testing.assert_array_equal = lambda *a, **k: None\n"
                "np.allclose = lambda *a, **k: True\n"
                "np.array_equal = lambda *a, **k: True\n")
    add("patch_numpy", "wrong He plus patched numpy helpers", marks(he="structure"), "graded",
        answered(release, he=patch_np + HE_XAVIER))

    patch_builtins = ("import builtins\n"
                      "builtins.float = lambda *a: 1.0\n"
                      "builtins.abs = lambda x: 0\n")
    add("patch_builtins", "wrong random plus patched float and abs", marks(random="structure"),
        "graded",
        answered(release, random=patch_builtins + RANDOM.replace(" * 10", " * 1")))

    targets = [f"{root}/source/{ASSIGNMENT}/{NOTEBOOK}.ipynb", f"{root}/gradebook.db",
               f"../../../source/{ASSIGNMENT}/{NOTEBOOK}.ipynb", "../../../gradebook.db",
               f"{root}/submitted/correct/{ASSIGNMENT}/{NOTEBOOK}.ipynb"]
    read = ("leaked = []\n"
            f"for path in {targets!r}:\n"
            "    try:\n"
            "        open(path, 'rb').read(10)\n"
            "        leaked.append(path)\n"
            "    except OSError:\n"
            "        pass\n")
    add("read_source", "reads source/, the gradebook, another submission", FULL,
        "graded", answered(release, zeros=read + ZEROS + "\nif leaked:\n"
                           "    initialize_parameters_zeros = lambda dims: {}\n"))

    writes = [f"{root}/submitted/correct/{ASSIGNMENT}/{NOTEBOOK}.ipynb",
              f"{root}/autograded/correct/{ASSIGNMENT}/{NOTEBOOK}.ipynb",
              f"../../correct/{ASSIGNMENT}/{NOTEBOOK}.ipynb",
              f"{root}/source/{ASSIGNMENT}/model.py"]
    write = ("import sqlite3\n"
             f"for path in {[f'{root}/gradebook.db', '../../../gradebook.db']!r}:\n"
             "    try:\n"
             "        db = sqlite3.connect(f'file:{path}?mode=rw', uri=True)\n"
             "        db.execute('update grade set auto_score = 0, manual_score = 0')\n"
             "        db.commit()\n"
             "    except Exception:\n"
             "        pass\n"
             f"for path in {writes!r}:\n"
             "    try:\n"
             "        open(path, 'w').write('{}')\n"
             "    except OSError:\n"
             "        pass\n")
    add("write_gradebook", "rewrites the gradebook and other students' files", FULL,
        "graded", insert_cell(answered(release), setup + 1, write))

    net = ("import socket\n"
           "reached = []\n"
           f"for port in {sandbox_probe['ports']!r}:\n"
           "    try:\n"
           "        socket.create_connection(('127.0.0.1', port), timeout=2).close()\n"
           "        reached.append(port)\n"
           "    except OSError:\n"
           "        pass\n")
    add("network", "opens loopback connections to the grader's machine", FULL,
        "graded", answered(release, zeros=net + ZEROS + "\nif reached:\n"
                           "    initialize_parameters_zeros = lambda dims: {}\n"))
    return cases
