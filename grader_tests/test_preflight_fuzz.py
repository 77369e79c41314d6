"""Preflight against random damage to the release: it never raises, it always decides.

Hypothesis mutates the released notebook's JSON (types of every nbgrader field,
cell lists, cell types, sources, whole subtrees) and preflight must either
produce a working copy or say why it cannot grade, without an exception.
"""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_grader.assignment import ASSIGNMENT, NOTEBOOK
from course_grader.batch.preflight import preflight
from course_grader.cells import grade_id_of
from course_paths import ROOT

RELEASE_JSON = json.loads((ROOT / "notebooks" / "Initialization.ipynb").read_text())
RELEASE = nbformat.reads(json.dumps(RELEASE_JSON), as_version=4)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6)
FIELDS = ["grade", "solution", "locked", "points", "grade_id", "task", "schema_version",
          "checksum"]


@st.composite
def damaged(draw):
    nb = copy.deepcopy(RELEASE_JSON)
    for _ in range(draw(st.integers(1, 4))):
        if not isinstance(nb.get("cells"), list) or not nb["cells"]:
            break
        index = draw(st.integers(0, len(nb["cells"]) - 1))
        what = draw(st.sampled_from(["field", "nbgrader", "metadata", "cell_type", "source",
                                     "delete", "duplicate", "cell", "top"]))
        cell = nb["cells"][index]
        if not isinstance(cell, dict):
            continue
        if what == "field" and isinstance(cell.get("metadata"), dict) \
                and isinstance(cell["metadata"].get("nbgrader"), dict):
            cell["metadata"]["nbgrader"][draw(st.sampled_from(FIELDS))] = draw(JSON_VALUES)
        elif what == "nbgrader" and isinstance(cell.get("metadata"), dict):
            cell["metadata"]["nbgrader"] = draw(JSON_VALUES)
        elif what == "metadata":
            cell["metadata"] = draw(JSON_VALUES)
        elif what == "cell_type":
            cell["cell_type"] = draw(st.sampled_from(["code", "markdown", "raw", "heading", 3]))
        elif what == "source":
            cell["source"] = draw(JSON_VALUES)
        elif what == "delete":
            del nb["cells"][index]
        elif what == "duplicate":
            nb["cells"].insert(index, copy.deepcopy(cell))
        elif what == "cell":
            nb["cells"][index] = draw(JSON_VALUES)
        else:
            nb[draw(st.sampled_from(["metadata", "nbformat", "cells"]))] = draw(JSON_VALUES)
    return nb


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(damaged())
def test_preflight_never_raises_and_always_decides(tmp_path, nb):
    folder = tmp_path / "course" / "submitted" / "s" / "initialization"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Initialization.ipynb").write_text(json.dumps(nb))
    report = preflight(tmp_path / "course", "s", RELEASE, tmp_path / "work", ASSIGNMENT, NOTEBOOK)
    working = tmp_path / "work" / "s" / "initialization" / "Initialization.ipynb"
    if report.failure is None:  # a working copy nbgrader can read, with every graded cell
        graded = nbformat.read(working, as_version=4)
        ids = [grade_id_of(c) for c in graded.cells
               if isinstance(c.metadata.get("nbgrader"), dict)]
        for cell in RELEASE.cells:
            grade_id = grade_id_of(cell)
            if grade_id:
                assert ids.count(grade_id) == 1, grade_id
    else:
        assert isinstance(report.failure, str) and report.failure


def test_folder_named_like_the_notebook_and_a_list_grade_id(tmp_path):
    folder = tmp_path / "course" / "submitted" / "s" / "initialization"
    (folder / "Initialization.ipynb").mkdir(parents=True)
    (folder / "Initialization.ipynb" / "x.txt").write_text("x")
    nb = copy.deepcopy(RELEASE_JSON)
    (folder / "copy.ipynb").write_text(json.dumps(nb))
    other = copy.deepcopy(RELEASE_JSON)
    for cell in other["cells"]:  # a scratch notebook whose grade ids are lists
        if "nbgrader" in cell["metadata"]:
            cell["metadata"]["nbgrader"]["grade_id"] = [cell["metadata"]["nbgrader"]["grade_id"]]
    (folder / "scratch.ipynb").write_text(json.dumps(other))
    report = preflight(tmp_path / "course", "s", RELEASE, tmp_path / "work", ASSIGNMENT, NOTEBOOK)
    assert report.failure is None, report.failure
    assert any(f.kind == "renamed" for f in report.findings)


JSON_OF_EACH_TYPE = [None, True, 0, 2.5, "text", ["a"], {"a": 1}]


@pytest.mark.parametrize("field", FIELDS + ["nbgrader"])
@pytest.mark.parametrize("value", JSON_OF_EACH_TYPE, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("grade_id", ["he_answer", "he_values", "setup"])
def test_every_json_type_in_every_field(tmp_path, field, value, grade_id):
    nb = copy.deepcopy(RELEASE_JSON)
    cell = next(c for c in nb["cells"]
                if grade_id_of(c) == grade_id)
    if field == "nbgrader":
        cell["metadata"]["nbgrader"] = value
    else:
        cell["metadata"]["nbgrader"][field] = value
    folder = tmp_path / "course" / "submitted" / "s" / "initialization"
    folder.mkdir(parents=True)
    (folder / "Initialization.ipynb").write_text(json.dumps(nb))
    report = preflight(tmp_path / "course", "s", RELEASE, tmp_path / "work", ASSIGNMENT, NOTEBOOK)
    assert report.failure is None, report.failure
    graded = nbformat.read(tmp_path / "work" / "s" / "initialization" / "Initialization.ipynb",
                           as_version=4)
    restored = [c for c in graded.cells
                if isinstance(c.metadata.get("nbgrader"), dict)
                and c.metadata.nbgrader.get("grade_id") == grade_id]
    original = next(c for c in RELEASE.cells
                    if grade_id_of(c) == grade_id)
    assert len(restored) == 1
    for key in ("grade", "solution", "locked", "points"):
        assert restored[0].metadata.nbgrader.get(key) == original.metadata.nbgrader.get(key)


def test_preflight_names_a_function_that_leans_on_another_cell(tmp_path):
    nb = copy.deepcopy(RELEASE_JSON)
    answer = next(c for c in nb["cells"]
                  if grade_id_of(c) == "he_answer")
    answer["source"] = ("def initialize_parameters_he(layers_dims):\n"
                        "    return build_layers(layers_dims, HE_GAIN)\n")
    folder = tmp_path / "course" / "submitted" / "s" / "initialization"
    folder.mkdir(parents=True)
    (folder / "Initialization.ipynb").write_text(json.dumps(nb))
    report = preflight(tmp_path / "course", "s", RELEASE, tmp_path / "work", ASSIGNMENT, NOTEBOOK)
    notes = [f.message for f in report.findings if f.kind == "outside_names"]
    assert notes and "HE_GAIN, build_layers" in notes[0]
    assert "initialize_parameters_he" in notes[0]


def test_exchange_records_reach_the_working_copy_and_nothing_else_does(tmp_path):
    folder = tmp_path / "course" / "submitted" / "s" / "initialization"
    folder.mkdir(parents=True)
    (folder / "Initialization.ipynb").write_text(json.dumps(RELEASE_JSON))
    (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    (folder / "submission_secret.txt").write_text("secret")
    (folder / "numpy.py").write_text("raise SystemExit")
    (folder / "course_grader").mkdir()
    report = preflight(tmp_path / "course", "s", RELEASE, tmp_path / "work", ASSIGNMENT, NOTEBOOK)
    work = tmp_path / "work" / "s" / "initialization"
    assert sorted(p.name for p in work.iterdir()) == [
        "Initialization.ipynb", "submission_secret.txt", "timestamp.txt"]
    assert any(f.kind == "extra_files" and "numpy.py" in f.message for f in report.findings)
