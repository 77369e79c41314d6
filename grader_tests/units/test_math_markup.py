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
