"""The student's path through Initialization.ipynb in JupyterLab, in a real Chromium.

Every test works on its own copy of the student edition inside the
JupyterLab server's folder, so the tests do not depend on one another.
"""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from .answers import CORRECT, WRONG_RANDOM_SCALE, indented, stub_position, write_answers
from .course_files import IGNORED, NOTEBOOK, student_edition
from .labpage import NotebookUI, open_notebook, without_ansi_debris

pytestmark = pytest.mark.browser

SUCCESS = "Visible checks passed"
RUN_TIMEOUT = 180_000  # ms: the whole notebook trains three networks
VALIDATE_TIMEOUT = 240_000  # ms: nbgrader validate runs the whole notebook again


def fresh_copy(server, name: str, answers: dict | None = None) -> str:
    """Copy the student edition to <server root>/<name>/; return the notebook's path."""
    target = server.root / name
    shutil.copytree(student_edition(), target, ignore=IGNORED)
    if answers:
        write_answers(target / NOTEBOOK, answers)
    return f"{name}/{NOTEBOOK}"


def run_all_above(ui: NotebookUI, grade_id: str) -> None:
    """Run every cell above ``grade_id`` from the Run menu and wait for them."""
    index = ui.index(grade_id)
    above = [i for i in ui.code_cells() if i < index]
    before = {i: ui.prompt(i) for i in above}
    ui.select(grade_id)
    ui.menu("Run", "Run All Above Selected Cell")
    for i in above:
        ui.wait_executed(i, before[i])
    for i in above:
        assert ui.errors(i).count() == 0, (
            f"cell {i} above {grade_id} failed:\n{ui.output_text(i)}")


def assert_readable(text: str) -> None:
    assert without_ansi_debris(text), f"raw ANSI escape codes in an output:\n{text!r}"


def test_typed_zeros_passes_its_visible_checks(student_lab, page, shoot):
    ui = open_notebook(page, student_lab, fresh_copy(student_lab, "typed-zeros"))
    ui.hide_side_panel()
    shoot(page, "student-01-notebook-opened")
    run_all_above(ui, "zeros_answer")

    ui.type_over_stub("zeros_answer", CORRECT["zeros"])
    ui.run_cells("zeros_answer", 1)
    assert ui.errors("zeros_answer").count() == 0, (
        ui.output_text("zeros_answer"))
    for check in ("zeros_structure", "zeros_values"):
        ui.run_cells(check, 1)
        text = ui.output_text(check)
        assert text.startswith(SUCCESS), f"{check} did not pass:\n{text}"
        assert "more checks run at grading" in text, text
        assert ui.errors(check).count() == 0, text
    ui.cell("zeros_answer").scroll_into_view_if_needed()
    shoot(page, "student-02-zeros-typed-and-checked")


def test_wrong_random_scale_gets_a_diagnosis_then_the_fix_passes(student_lab, page, shoot):
    path = fresh_copy(student_lab, "typed-random", {"zeros": CORRECT["zeros"]})
    ui = open_notebook(page, student_lab, path)
    ui.hide_side_panel()
    run_all_above(ui, "random_answer")

    ui.type_over_stub("random_answer", WRONG_RANDOM_SCALE)
    ui.run_cells("random_answer", 1)
    ui.run_cells("random_structure", 1)
    assert ui.output_text("random_structure").startswith(SUCCESS), (
        "the shapes are right, so the structure check should pass:\n"
        + ui.output_text("random_structure"))
    ui.run_cells("random_values", 1)
    error = ui.errors("random_values")
    expect(error).to_have_count(1)
    message = error.inner_text()
    assert SUCCESS not in ui.output_text("random_values")
    assert "W1" in message and "scale" in message, (
        f"the diagnosis should name the wrong scale of W1:\n{message}")
    assert "Traceback" not in message and "self_check.py" not in message, (
        f"the student should see the diagnosis, not the checker's internals:\n{message}")
    assert_readable(message)
    ui.cell("random_values").scroll_into_view_if_needed()
    shoot(page, "student-03-wrong-random-diagnosis")
    shoot(ui.cell("random_values"), "student-03b-wrong-random-message")

    # the student fixes the scale: the lines just typed are selected and retyped
    number, indent = stub_position(ui.sources()[ui.index("random_answer")])
    ui.type_over_lines("random_answer", number, len(WRONG_RANDOM_SCALE),
                       indented(CORRECT["random"], indent))
    ui.run_cells("random_answer", 1)
    for check in ("random_structure", "random_values"):
        ui.run_cells(check, 1)
        assert ui.output_text(check).startswith(SUCCESS), ui.output_text(check)
    shoot(page, "student-04-random-fixed")


def test_run_all_with_correct_answers_shows_plots_and_conclusions(student_lab, page, shoot):
    path = fresh_copy(student_lab, "run-all", CORRECT)
    ui = open_notebook(page, student_lab, path)
    ui.hide_side_panel()
    code = ui.code_cells()
    before = {i: ui.prompt(i) for i in code}
    ui.menu("Run", "Run All Cells")
    for i in code:
        ui.wait_executed(i, before[i], timeout=RUN_TIMEOUT)

    sources = ui.sources()
    failures = {i: ui.output_text(i) for i in code
                if ui.errors(i).count()}
    assert not failures, f"cells wrote errors or warnings: {failures}"
    for i in code:
        assert_readable(ui.output_text(i))

    # every check passes with the correct answers
    for exercise in CORRECT:
        for part in ("structure", "values"):
            text = ui.output_text(f"{exercise}_{part}")
            assert text.startswith(SUCCESS), f"{exercise}_{part}: {text}"

    # training cells print their costs and accuracies
    printed_train_accuracy = {}  # run name -> accuracy the cell printed for the train set
    for i in code:
        run = re.search(r'^\w+, \w+ = train_and_report\("([^"]+)"', sources[i], re.M)
        if run is None:
            continue
        text = ui.output_text(i)
        assert "Cost after iteration 0:" in text, text
        accuracies = re.findall(r"Accuracy: ([0-9.]+)", text)
        assert len(accuracies) == 2, f"train and test accuracy expected:\n{text}"
        printed_train_accuracy[run.group(1)] = float(accuracies[0])
    assert {"zeros", "large random", "He"} <= set(printed_train_accuracy), (
        f"expected a training run per initialization, found {list(printed_train_accuracy)}")

    # plot cells show their figure (cost curve and decision boundary) as an image
    plot_cells = [i for i in code if re.search(r"^show_run\(", sources[i], re.M)]
    assert len(plot_cells) >= 3, "expected a plot cell per initialization"
    for i in plot_cells:
        expect(ui.outputs(i).locator("img")).to_have_count(1)
    dataset = [i for i in code if "plot_dataset(" in sources[i]]
    assert dataset, "expected a cell that plots the data set"
    expect(ui.outputs(dataset[0]).locator("img")).to_have_count(1)

    # every figure in the notebook is drawn, and fits its output area unclipped
    figure_cells = [i for i in code if ui.outputs(i).locator("img").count()]
    for i in figure_cells:
        images = ui.outputs(i).locator("img")
        for k in range(images.count()):
            image = images.nth(k)
            image.scroll_into_view_if_needed()
            size = image.evaluate(
                "img => [img.naturalWidth, img.naturalHeight, img.complete,"
                " img.getBoundingClientRect().width,"
                " img.closest('.jp-OutputArea-output').clientWidth]")
            natural_width, natural_height, complete, shown_width, area_width = size
            assert complete and natural_width > 200 and natural_height > 100, (
                f"cell {i}: image not drawn or tiny: {size}")
            assert shown_width <= area_width + 1, (
                f"cell {i}: image wider than its output area, so it is clipped: {size}")
        shoot(ui.cell(i), f"student-05-figures-cell-{i:02d}")

    # the conclusions table: a row per initialization, accuracies as printed above
    tables = ui.panel.locator(".jp-OutputArea-output table").filter(
        has=page.locator("th", has_text=re.compile(r"^\s*train accuracy\s*$", re.I)))
    expect(tables).to_have_count(1)
    table = tables.first
    table.scroll_into_view_if_needed()
    header = [cell.strip().lower() for cell in table.locator("th").all_inner_texts()]
    assert "test accuracy" in header, header
    train_column = header.index("train accuracy")
    shown = {}
    rows = table.locator("tbody tr")
    for r in range(rows.count()):
        cells = rows.nth(r).locator("td").all_inner_texts()
        shown[cells[0].strip()] = float(cells[train_column].strip().rstrip("%")) / 100
    assert list(shown)[:3] == ["zeros", "large random", "He"], shown
    for name, accuracy in shown.items():
        if name in printed_train_accuracy:
            assert accuracy == pytest.approx(printed_train_accuracy[name], abs=0.0005), (
                f"the table's train accuracy for {name} differs from the printed one")
    assert shown["zeros"] == pytest.approx(0.5, abs=0.01), "zeros should be a coin toss"
    assert shown["He"] > shown["large random"], "He should train better than large random"
    shoot(page, "student-06-conclusions-table")


def click_validate(page):
    # nbgrader's lab extension puts this button in every notebook's toolbar
    button = page.locator(".jp-NotebookPanel:visible .jp-Toolbar-item .validate-button")
    expect(button).to_have_count(1)
    expect(button).to_have_text("Validate")
    button.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_be_visible(timeout=VALIDATE_TIMEOUT)
    expect(dialog.locator(".jp-Dialog-header")).to_contain_text("Validation Results")
    return dialog


def test_validate_button_accepts_a_correct_notebook(student_lab, page, shoot):
    ui = open_notebook(page, student_lab, fresh_copy(student_lab, "validate-ok", CORRECT))
    ui.hide_side_panel()
    dialog = click_validate(page)
    body = dialog.locator(".jp-Dialog-body")
    expect(body).to_contain_text("Success! Your notebook passes all the tests.")
    expect(dialog.locator(".validation-success")).to_have_count(1)
    shoot(page, "student-07-validate-success")
    dialog.get_by_role("button", name="Ok").click()
    expect(dialog).to_have_count(0)


def test_validate_button_reports_a_broken_notebook(student_lab, page, shoot):
    answers = dict(CORRECT, random=WRONG_RANDOM_SCALE)
    ui = open_notebook(page, student_lab, fresh_copy(student_lab, "validate-broken", answers))
    ui.hide_side_panel()
    dialog = click_validate(page)
    body = dialog.locator(".jp-Dialog-body")
    expect(body).to_contain_text("The following cell failed:")
    expect(dialog.locator(".validation-failed")).to_have_count(1)
    text = body.inner_text()
    assert "Success!" not in text
    assert "self_check.random_values(initialize_parameters_random)" in text, text
    assert "scale" in text, f"the dialog should carry the check's diagnosis:\n{text}"
    for passing in ("zeros_values", "he_values", "random_structure"):
        source = ui.sources()[ui.index(passing)]
        assert source not in text, f"{passing} passes and should not be listed:\n{text}"
    assert_readable(text)
    shoot(page, "student-08-validate-failure")
