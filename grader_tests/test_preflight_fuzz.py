"""Preflight against random damage to the release: it repairs what it can and says why not.

Hypothesis damages the released notebook in two families. Damage a person or an
editor can leave in an otherwise valid notebook (any JSON in nbgrader's fields, the
grading metadata replaced or stripped, cells deleted, duplicated, retyped or
rewritten) must be repaired: a working copy with every graded cell once, carrying the
release's grading metadata. Damage that leaves no notebook to read (truncated or
non-UTF-8 bytes, a cell that is not a cell, no cell list, an unknown format version)
must fail with the reason for that damage; never with preflight's catch-all, which
is for crashes.
"""

from __future__ import annotations

import copy
import json
import re

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_grader.batch.preflight import preflight
from course_grader.cells import grade_id_of, is_locked
from course_paths import ASSIGNMENT, NOTEBOOK, ROOT

RELEASE_JSON = json.loads((ROOT / "notebooks" / "Initialization.ipynb").read_text())
RELEASE = nbformat.reads(json.dumps(RELEASE_JSON), as_version=4)
GRADED = {grade_id_of(c): c for c in RELEASE.cells if grade_id_of(c)}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6)
JSON_OBJECTS = st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3)
FIELDS = ["grade", "solution", "locked", "points", "grade_id", "task", "schema_version",
          "checksum"]
NB_NAME = re.escape(f"{NOTEBOOK}.ipynb")
SETTINGS = settings(max_examples=100, deadline=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def _retype(cell, cell_type):
    """A cell switched to another type the way Jupyter writes it."""
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


@st.composite
def honest_damage(draw):
    """The release with damage an otherwise valid notebook can carry."""
    nb = copy.deepcopy(RELEASE_JSON)
    for _ in range(draw(st.integers(1, 4))):
        if not nb["cells"]:
            break
        index = draw(st.integers(0, len(nb["cells"]) - 1))
        what = draw(st.sampled_from(["field", "nbgrader", "metadata", "cell_type", "source",
                                     "delete", "duplicate", "notebook_metadata"]))
        cell = nb["cells"][index]
        if what == "field" and isinstance(cell["metadata"].get("nbgrader"), dict):
            cell["metadata"]["nbgrader"][draw(st.sampled_from(FIELDS))] = draw(JSON_VALUES)
        elif what == "nbgrader":
            cell["metadata"]["nbgrader"] = draw(JSON_VALUES)
        elif what == "metadata":
            cell["metadata"] = draw(JSON_OBJECTS)
        elif what == "cell_type":
            _retype(cell, draw(st.sampled_from(["code", "markdown", "raw"])))
        elif what == "source":
            cell["source"] = draw(st.text(max_size=20) | st.lists(st.text(max_size=8),
                                                                  max_size=3))
        elif what == "delete":
            del nb["cells"][index]
        elif what == "duplicate":
            nb["cells"].insert(index, copy.deepcopy(cell))
        else:
            nb["metadata"] = draw(JSON_OBJECTS)
    return nb


@st.composite
def unreadable(draw):
    """(bytes of a damaged file, the reason preflight must give for that damage)."""
    nb = draw(honest_damage())
    what = draw(st.sampled_from(["truncated", "not_utf8", "not_a_cell", "cell_type",
                                 "no_cell_list", "not_an_object", "nbformat"]))
    text = json.dumps(nb)
    if what == "truncated":
        cut = draw(st.integers(1, len(text) - 1))
        return (text[:cut].encode(),
                rf"{NB_NAME} is (truncated|not valid JSON) \(line \d+, column \d+: .+\)")
    if what == "not_utf8":
        cut = draw(st.integers(0, len(text)))
        return text[:cut].encode() + b"\xff\xfe" + text[cut:].encode(), \
            rf"{NB_NAME} is not a text file"
    if what in ("not_a_cell", "cell_type"):
        index = draw(st.integers(0, len(nb["cells"])))
        if what == "not_a_cell":  # JSON_VALUES' keys are too short to be "cell_type"
            bad = draw(JSON_VALUES)
        else:
            bad = {"cell_type": draw(st.sampled_from(["heading", "Code", 3, None, ""])),
                   "metadata": {}, "source": ""}
        nb["cells"].insert(index, bad)
        return json.dumps(nb).encode(), rf"{NB_NAME}: cell {index} is not a notebook cell"
    if what in ("no_cell_list", "not_an_object"):
        not_a_list = JSON_VALUES.filter(lambda v: not isinstance(v, list))
        if what == "no_cell_list":
            nb["cells"] = draw(not_a_list)
        else:
            nb = draw(not_a_list.filter(lambda v: not isinstance(v, dict)))
        return json.dumps(nb).encode(), rf"{NB_NAME} is JSON but not a Jupyter notebook"
    nb["nbformat"] = draw(JSON_VALUES.filter(lambda v: v not in (3, 4) or type(v) is bool))
    return json.dumps(nb).encode(), rf"{NB_NAME} is not a readable notebook \(\w+\)"


def _submit(tmp_path, content: bytes):
    folder = tmp_path / "course" / "submitted" / "s" / "initialization"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Initialization.ipynb").write_bytes(content)
    return preflight(tmp_path / "course", "s", RELEASE, tmp_path / "work", ASSIGNMENT, NOTEBOOK)


@SETTINGS
@given(honest_damage())
def test_damage_a_valid_notebook_can_carry_is_repaired(tmp_path, nb):
    report = _submit(tmp_path, json.dumps(nb).encode())
    assert report.failure is None, report.failure
    working = tmp_path / "work" / "s" / "initialization" / "Initialization.ipynb"
    graded = nbformat.read(working, as_version=4)
    cells = [c for c in graded.cells if grade_id_of(c)]
    assert sorted(grade_id_of(c) for c in cells) == sorted(GRADED)
    for cell in cells:
        release_cell = GRADED[grade_id_of(cell)]
        assert cell.cell_type == release_cell.cell_type
        for key in ("grade", "solution", "locked", "points"):
            assert cell.metadata.nbgrader.get(key) == release_cell.metadata.nbgrader.get(key)
        if is_locked(release_cell):
            assert cell.source == release_cell.source


@SETTINGS
@given(unreadable())
def test_a_file_that_is_no_notebook_fails_with_its_reason(tmp_path, damaged):
    content, reason = damaged
    report = _submit(tmp_path, content)
    assert report.failure is not None and re.fullmatch(reason, report.failure), \
        (report.failure, reason)
    assert not (tmp_path / "work" / "s" / "initialization" / "Initialization.ipynb").exists()


def test_a_code_cell_without_outputs_is_repaired_or_refused_with_a_reason(tmp_path):
    nb = copy.deepcopy(RELEASE_JSON)
    markdown = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    markdown["cell_type"] = "code"  # by hand in the JSON: no outputs, no execution_count
    report = _submit(tmp_path, json.dumps(nb).encode())
    assert report.failure is None, report.failure


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


@pytest.mark.parametrize("instructor_folder", ["release", "source"])  # source: on a worker
def test_released_helper_files_are_not_named_as_extra(tmp_path, instructor_folder):
    """nbgrader submit hands the released modules back; only other files are noted."""
    release = tmp_path / "course" / instructor_folder / "initialization"
    release.mkdir(parents=True)
    for name in ("Initialization.ipynb", "model.py", "self_check.py"):
        (release / name).write_text("")
    folder = tmp_path / "course" / "submitted" / "s" / "initialization"
    folder.mkdir(parents=True)
    (folder / "Initialization.ipynb").write_text(json.dumps(RELEASE_JSON))
    (folder / "model.py").write_text("# the released copy")
    (folder / "self_check.py").write_text("# the released copy")
    (folder / "notes.txt").write_text("mine")
    report = preflight(tmp_path / "course", "s", RELEASE, tmp_path / "work", ASSIGNMENT, NOTEBOOK)
    extra = [f.message for f in report.findings if f.kind == "extra_files"]
    assert extra == ["files not used for grading: notes.txt"]
    work = tmp_path / "work" / "s" / "initialization"
    assert "model.py" not in {p.name for p in work.iterdir()}  # still never copied
