"""Feedback that explains the grade without giving the grading away, and inert outputs.

``SanitizeFeedback`` (batch/feedback.py) and the output cleaner of
``verdict/inert.py`` on tiny notebooks; the whole hostile notebook is in
test_untrusted_data.py.
"""

from __future__ import annotations

import json

from html_safety import runnable_payloads
from nbformat.v4 import new_code_cell, new_notebook, new_output
from tiny import SPEC, error, release

from course_grader.batch import outcome
from course_grader.batch.feedback import PACKAGE_DIR, SanitizeFeedback
from course_grader.verdict.inert import clean_html, clean_output, make_inert

GRADER_LINE = f'File "{PACKAGE_DIR}/verdict/checks.py", line 40, in check_values'


def sanitized(nb, **traits):
    out, _ = SanitizeFeedback(**traits).preprocess(nb, {})
    return out


def test_hidden_tests_are_cut_from_the_source():
    nb = sanitized(release())
    assert nb.cells[3].source == "assert double(1) == 2\n"
    assert "double(5)" not in json.dumps(nb)


def test_an_unterminated_hidden_block_is_cut_to_the_end():
    nb = release()
    nb.cells[3].source = "visible()\n### BEGIN HIDDEN TESTS\nsecret_check()"
    assert sanitized(nb).cells[3].source == "visible()\n"


def test_an_error_in_a_test_cell_shows_only_its_message():
    nb = release()
    nb.cells[3].outputs = [error("GradingCheckFailed", "W1 is transposed [diagnosis: transposed]",
                                 ["Traceback", GRADER_LINE, "reference = np.load(...)"])]
    out = sanitized(nb).cells[3].outputs[0]
    assert out.traceback == ["GradingCheckFailed: W1 is transposed [diagnosis: transposed]"]


def test_a_students_own_traceback_keeps_its_lines_but_not_the_graders():
    nb = release()
    student_line = "Cell In[3], line 2, in double\n    return x * y"
    nb.cells[2].outputs = [error("NameError", "name 'y' is not defined",
                                 ["Traceback", GRADER_LINE, student_line,
                                  "NameError: name 'y' is not defined"])]
    out = sanitized(nb).cells[2].outputs[0]
    assert out.traceback == ["Traceback", student_line, "NameError: name 'y' is not defined"]


def test_an_error_ending_inside_the_grader_is_one_line_wherever_it_is():
    nb = release()
    colored = f"\x1b[0;32m{PACKAGE_DIR}\x1b[0m/reference.py"
    nb.cells[1].outputs = [error("KeyError", "'he'", ["Traceback", colored])]
    assert sanitized(nb).cells[1].outputs[0].traceback == ["KeyError: 'he'"]


def test_no_notes_file_adds_no_note():
    nb = sanitized(release(), notes_path="/nonexistent/notes.json")
    assert len(nb.cells) == len(release().cells)


def test_the_note_gives_status_points_and_repairs(tmp_path, monkeypatch):
    monkeypatch.setattr(outcome, "gradebook_scores", lambda db, spec, student:
                        {"double_test": (0.0, False), "other": (3.0, False)})
    events = tmp_path / "events.json"
    events.write_text(json.dumps({"events": [
        {"kind": "cell_timeout", "cell": "double_test", "message": "stopped after 120 s"}]}))
    notes = tmp_path / "notes.json"
    notes.write_text(json.dumps({
        "student": "s", "content_hash": "h", "db_url": "sqlite://", "course": str(tmp_path),
        "events": str(events), "assignment": SPEC.__dict__,
        "findings": [{"kind": "duplicate_cell", "message": "answer pasted twice",
                      "repaired": True}]}))
    note = sanitized(release(), notes_path=str(notes)).cells[0]
    assert note.cell_type == "markdown"
    assert note.source.splitlines() == [
        "**Grading status: timed out**", "",
        "- **double: 0 / 2 points**", "- **other: 3 / 3 points**",
        "- cell timeout in double_test: stopped after 120 s",
        "- answer pasted twice"]


def test_the_note_puts_each_diagnosis_first_linked_to_its_cell(tmp_path, monkeypatch):
    monkeypatch.setattr(outcome, "gradebook_scores", lambda db, spec, student:
                        {"double_test": (0.0, False), "other": (3.0, False)})
    monkeypatch.setattr(outcome, "_cell_errors", lambda spec, course, student: {
        "double_test": [("GradingCheckFailed", "double(5) is 11, not <b>10</b>")],
        "not a word": [("GradingCheckFailed", "ignored: no such graded cell")]})
    notes = tmp_path / "notes.json"
    notes.write_text(json.dumps({
        "student": "s", "content_hash": "h", "db_url": "sqlite://", "course": str(tmp_path),
        "events": str(tmp_path / "none.json"), "assignment": SPEC.__dict__, "findings": []}))
    nb = sanitized(release(), notes_path=str(notes))
    lines = nb.cells[0].source.splitlines()
    assert lines[2] == "- **double: 0 / 2 points**"
    assert lines[3].startswith("    - [double_test](#double_test): GradingCheckFailed")
    assert "&lt;b&gt;10&lt;/b&gt;" in lines[3]
    make_inert(nb, {c.source for c in release().cells if c.cell_type == "markdown"})
    html = _html(nb)
    assert 'href="#double_test"' in html and "<b>10</b>" not in html


# -- verdict/inert.py: one output at a time ---------------------------------------------------

def test_a_stream_with_an_invented_name_becomes_stdout():
    out = clean_output({"output_type": "stream", "name": "<script>", "text": "hi"})
    assert (out.name, out.text) == ("stdout", "hi")


def test_an_error_with_junk_fields_keeps_only_strings():
    out = clean_output({"output_type": "error", "ename": 3, "evalue": None,
                        "traceback": "not a list", "extra": "<script>"})
    assert out == {"output_type": "error", "ename": "3", "evalue": "None", "traceback": []}


def test_a_forged_execution_count_and_an_unknown_output_type():
    out = clean_output({"output_type": "execute_result", "execution_count": "7",
                        "data": {"text/plain": "1"}, "metadata": {}})
    assert out.execution_count is None and out.data == {"text/plain": "1"}
    assert clean_output({"output_type": "update_display_data", "data": {}}) is None
    assert clean_output({"output_type": "display_data", "data": {"text/latex": "$x$"}}) is None


def test_html_text_cannot_be_typeset_into_a_link():
    html = clean_html(r"<p>$\href{javascript:alert(1)}{x}$</p>")
    assert "$" not in html and "\\" not in html and html.startswith("<p>")


def test_cell_ids_become_unique_plain_words():
    nb = new_notebook(cells=[new_code_cell("1"), new_code_cell("2"), new_code_cell("3")])
    nb.cells[0]["id"], nb.cells[1]["id"] = "ok-id", "ok-id"
    nb.cells[2]["id"] = '"><img src=x onerror=alert(1)>'
    nb.cells[2].outputs = [new_output("stream", name="stdout", text="x")]
    make_inert(nb)
    cell_ids = [c["id"] for c in nb.cells]
    assert cell_ids[0] == "ok-id" and len(set(cell_ids)) == 3
    assert all(c.isalnum() or c in "-_" for i in cell_ids for c in i)


# -- the note quotes what a student named; the inert step comes after it ----------------------

TOKEN = "NOTE-XSS-7"
HOSTILE_NAMES = [f"<img src=x onerror=alert('{TOKEN}')>.py",
                 f"<script>alert('{TOKEN}')</script>",
                 f"[click](javascript:alert('{TOKEN}'))",
                 f"<a href=\"javascript:alert('{TOKEN}')\">x</a>"]


def _hostile_note(tmp_path, monkeypatch):
    """The note of a student whose file names and stray grade ids are HTML."""
    monkeypatch.setattr(outcome, "gradebook_scores", lambda db, spec, student:
                        {"double_test": (2.0, False), "other": (3.0, False)})
    findings = [{"kind": "extra_files", "message": f"files not used for grading: {name}",
                 "repaired": False} for name in HOSTILE_NAMES]
    findings += [{"kind": "unknown_cell", "message": f"cell with unknown grading id {name!r} "
                  "graded as an ordinary cell", "repaired": True} for name in HOSTILE_NAMES]
    notes = tmp_path / "notes.json"
    notes.write_text(json.dumps({
        "student": "s", "content_hash": "h", "db_url": "sqlite://", "course": str(tmp_path),
        "events": str(tmp_path / "none.json"), "assignment": SPEC.__dict__,
        "findings": findings}))
    return sanitized(release(), notes_path=str(notes))


def _html(nb) -> str:
    from nbconvert import HTMLExporter

    return HTMLExporter().from_notebook_node(nb)[0]


def test_the_note_escapes_what_it_quotes_even_without_the_inert_step(tmp_path, monkeypatch):
    nb = _hostile_note(tmp_path, monkeypatch)
    html = _html(nb)
    assert runnable_payloads(html, TOKEN) == []
    assert "onerror=alert" in html.replace("&#x27;", "'")  # shown as text, not dropped


def test_after_the_inert_step_the_note_is_still_readable_and_inert(tmp_path, monkeypatch):
    nb = _hostile_note(tmp_path, monkeypatch)
    make_inert(nb, {c.source for c in release().cells if c.cell_type == "markdown"})
    html = _html(nb)
    assert runnable_payloads(html, TOKEN) == []
    assert "Grading status: " in html and "files not used for grading" in html


def test_the_inert_step_is_the_last_step_of_every_list():
    from course_grader import pipeline
    from course_grader.batch import task

    assert pipeline.AUTOGRADE_STEPS[-1] == pipeline.INERT_STEP
    assert pipeline.FEEDBACK_STEPS[-1] == pipeline.INERT_FEEDBACK_STEP
    assert task.FEEDBACK_STEPS[-1] == pipeline.INERT_FEEDBACK_STEP
    assert task.FEEDBACK_STEPS.index("course_grader.batch.feedback.SanitizeFeedback") < \
        len(task.FEEDBACK_STEPS) - 1
