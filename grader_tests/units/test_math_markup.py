"""Formulas become clean MathML on the server (course_grader.math_markup)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from nbconvert.filters.markdown import markdown2html

from course_grader.math_markup import MATH_TAGS, render_math, to_mathml
from course_paths import SOURCE_NB


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]


def parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    return parser


def test_inline_and_display_formulas_become_mathml():
    out = render_math(r"He scales by $\sqrt{2 / n^{[l-1]}}$; the cost is $$J = -\frac{1}{m}$$.")
    assert "$" not in out
    assert out.count("<math") == 2
    assert 'display="inline"' in out and 'display="block"' in out
    tags = parse(out).tags
    assert {"msqrt", "msup", "mfrac"} <= set(tags)


def test_code_escaped_dollars_and_prices_are_left_alone():
    text = "Costs `$x$` in code, a \\$5 fee and\n```\n$$not math$$\n```\n"
    out = render_math(text)
    assert "`$x$`" in out and "$$not math$$" in out
    assert "&#36;5 fee" in out
    assert "<math" not in out


def test_nothing_that_runs_survives_in_a_formula():
    hostile = (r"$\text{<script>alert(1)</script><img src=x onerror=alert(2)>}$ "
               r"$\href{javascript:alert(3)}{x}$ $x \style{color:red}{y}$")
    out = render_math(hostile)
    parsed = parse(out)
    assert set(parsed.tags) <= MATH_TAGS | {"code"}
    assert not [a for a in parsed.attributes if a.startswith("on") or a in ("href", "src",
                                                                            "style")]
    assert "javascript" not in out.lower() or "<code>" in out


def test_a_formula_that_cannot_be_converted_shows_its_source():
    out = to_mathml(r"\frac{1}{", display=False)
    assert out.startswith("<code>") and "\\frac{1}{" in out


def test_every_formula_of_the_lesson_converts():
    cells = json.loads(SOURCE_NB.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        out = render_math(source)
        assert "<code>\\" not in out, f"a formula failed to convert in: {out[:300]}"
        # the page renders the markdown once more: the MathML must come through whole
        page = markdown2html(out)
        assert page.count("<math") == out.count("<math") == _formulas(source)


def _formulas(source: str) -> int:
    outside_code = re.sub(r"`[^`]*`", "", source)
    return len(re.findall(r"\$\$.+?\$\$|\$[^$]+\$", outside_code, re.S))


def test_the_feedback_page_runs_no_script_and_draws_the_formulas():
    """The lesson's markdown through the feedback's inert step and exporter."""
    import os

    import nbformat
    import nbgrader

    from course_grader.batch.feedback import FeedbackExporter
    from course_grader.verdict.inert import make_inert

    nb = nbformat.read(SOURCE_NB, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader["score"] = 0  # what nbgrader's GetGrades adds
    make_inert(nb, {c.source for c in nb.cells if c.cell_type == "markdown"}, math=True)
    templates = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions",
                             "formgrader", "templates")
    css = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader",
                       "static", "node_modules", "bootstrap", "dist", "css")
    # as nbgrader's generate_feedback configures its exporter
    exporter = FeedbackExporter(template_name="feedback", extra_template_basedirs=[templates],
                                extra_template_paths=[css])
    page, _ = exporter.from_notebook_node(nb, resources={"nbgrader": {
        "notebook": "Initialization", "score": 0, "max_score": 30, "late_penalty": 0}})
    assert "<script" not in page.lower(), "the feedback page loads no script at all"
    assert "cdnjs" not in page and "MathJax.Hub" not in page
    assert page.count("<math") >= 100
    assert "$" not in re.sub(r"<(pre|code)[^>]*>.*?</\1>", "", page, flags=re.S)
