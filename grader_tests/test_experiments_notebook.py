"""The notebook's "why" sections (cells with ids starting ``why-``) run and draw their figures."""

from __future__ import annotations

import re

import nbformat
import pytest

import model
from course_grader.assignments.initialization.reference import initializer, xavier_scale
from course_paths import SOURCE_DIR, SOURCE_NB, cells_by_grade_id, execute_notebook

pytestmark = pytest.mark.notebook


NEW = "why-"


def new_cells(nb):
    return [cell for cell in nb.cells if cell.get("id", "").startswith(NEW)]


# the new cells that draw a figure (show_run draws one too)
FIGURE_CELLS = ("why-sym-import", "why-sym-plot", "why-sat-plot", "why-sat-trace",
                "why-xav-train", "why-deep-std", "why-deep-grad", "why-deep-hist",
                "why-deep-train")
NEEDS_XAVIER = ("why-xav-train",)


def figure_cells(nb):
    return [cell for cell in new_cells(nb) if cell.id in FIGURE_CELLS]


def test_the_list_of_figure_cells_is_complete():
    nb = nbformat.read(SOURCE_NB, as_version=4)
    drawing = {cell.id for cell in new_cells(nb) if cell.cell_type == "code"
               and ("plt.show()" in cell.source or "show_run(" in cell.source)}
    assert drawing == set(FIGURE_CELLS)


def images(cell) -> int:
    return sum("image/png" in out.get("data", {}) for out in cell.outputs)


def stream_text(cell, name="stdout") -> str:
    return "".join(out.text for out in cell.outputs
                   if out.output_type == "stream" and out.name == name)


xavier_init = initializer(xavier_scale)


def test_new_cells_have_unique_ids_and_sit_between_the_runs_and_the_conclusions():
    nb = nbformat.read(SOURCE_NB, as_version=4)
    ids = [cell.id for cell in nb.cells]
    assert len(ids) == len(set(ids))
    positions = [i for i, cell in enumerate(nb.cells) if cell.id.startswith(NEW)]
    assert len(positions) >= 20
    assert positions == list(range(positions[0], positions[-1] + 1))  # one block
    he_run = next(i for i, c in enumerate(nb.cells)
                  if c.cell_type == "code" and 'train_and_report("He"' in c.source)
    conclusions = next(i for i, c in enumerate(nb.cells)
                       if c.cell_type == "markdown" and c.source.startswith("## 10. Conclusions"))
    assert he_run < positions[0] and positions[-1] < conclusions


def test_every_experiment_is_predicted_before_and_answered_after():
    nb = nbformat.read(SOURCE_NB, as_version=4)
    cells = nb.cells
    for cell in figure_cells(nb):
        i = cells.index(cell)
        before = next(c for c in reversed(cells[:i]) if c.cell_type == "markdown")
        after = next(c for c in cells[i + 1:] if c.cell_type == "markdown")
        assert "**Predict.**" in before.source, cell.id
        assert "**Answer.**" in after.source, cell.id


def test_xavier_exercise_is_an_ungraded_answer_cell_with_a_plain_visible_check():
    nb = nbformat.read(SOURCE_NB, as_version=4)
    cell = cells_by_grade_id(nb)["xavier_answer"]
    meta = cell.metadata["nbgrader"]
    assert meta["solution"] is True and meta["grade"] is False and "points" not in meta
    assert "def initialize_parameters_xavier(layers_dims)" in cell.source
    assert "### BEGIN SOLUTION" in cell.source and "np.random.seed(3)" in cell.source
    checks = [c for c in nb.cells if "self_check.xavier(" in c.source]
    assert len(checks) == 1 and "nbgrader" not in checks[0].metadata


def test_new_figure_cells_draw_their_figures_without_errors_or_stderr(executed_source_notebook):
    cells = figure_cells(executed_source_notebook)
    assert len(cells) == len(FIGURE_CELLS)
    for cell in new_cells(executed_source_notebook):
        if cell.cell_type != "code":
            continue
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.id
        assert stream_text(cell, "stderr") == "", cell.id
    for cell in cells:
        assert images(cell) >= 1, f"{cell.id} drew no figure"


def test_notebook_prints_the_measured_facts(executed_source_notebook):
    text = {cell.id: stream_text(cell) for cell in new_cells(executed_source_notebook)
            if cell.cell_type == "code"}
    assert "zeros: {'W1': 1, 'W2': 1}" in text["why-sym-import"]
    assert "constant 0.5: {'W1': 1, 'W2': 1}" in text["why-sym-import"]
    assert "He: {'W1': 10, 'W2': 5}" in text["why-sym-import"]
    assert "course loss = inf" in text["why-sat-plot"]
    assert "Visible checks passed for initialize_parameters_xavier" in text["why-xav-check"]
    rows = {line.split()[0]: line for line in text["why-deep-std"].splitlines()[1:]}
    xavier_30 = float(rows["Xavier"].split()[-1])
    he_30 = float(rows["He"].split()[-1])
    assert 3e-6 < xavier_30 < 1e-4 and 0.2 < he_30 < 5


def test_conclusions_table_has_a_xavier_row_from_the_run(executed_source_notebook):
    X, Y, test_X, test_Y = model.load_dataset()
    trained, _ = model.model(X, Y, xavier_init, print_cost=False)
    train_acc = model.accuracy(model.predict_labels(X, trained), Y)
    test_acc = model.accuracy(model.predict_labels(test_X, trained), test_Y)
    tables = [out["data"]["text/markdown"] for cell in executed_source_notebook.cells
              if cell.cell_type == "code" for out in cell.outputs
              if "text/markdown" in out.get("data", {})]
    table = next(t for t in tables if "| initialization |" in t)
    row = re.escape(f"| Xavier | {train_acc:.1%} | {test_acc:.1%} |")
    assert re.search(row, table), table


@pytest.fixture(scope="module")
def executed_without_xavier(tmp_path_factory):
    """The source notebook with the optional exercise left as the student edition has it."""
    nb = nbformat.read(SOURCE_NB, as_version=4)
    cells_by_grade_id(nb)["xavier_answer"].source = (
        "def initialize_parameters_xavier(layers_dims):\n"
        "    # YOUR CODE HERE\n    raise NotImplementedError()")
    path = tmp_path_factory.mktemp("no_xavier") / "Initialization.ipynb"
    nbformat.write(nb, path)
    return execute_notebook(path, SOURCE_DIR)


def test_skipping_the_optional_exercise_leaves_notes_not_errors(executed_without_xavier):
    nb = executed_without_xavier
    errors = [(cell.id, out.ename) for cell in nb.cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert errors == []
    text = {cell.id: stream_text(cell) for cell in new_cells(nb) if cell.cell_type == "code"}
    assert "optional" in text["why-xav-check"]
    assert "Skipping Xavier" in text["why-xav-train"]
    assert "Xavier" not in text["why-deep-std"].split("\n", 1)[1]
    for cell in figure_cells(nb):
        if cell.id not in NEEDS_XAVIER:
            assert images(cell) >= 1, f"{cell.id} drew no figure without Xavier"
