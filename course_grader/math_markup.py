"""Formulas in markdown as MathML, rendered on the grader's machine.

The feedback page must read well offline and run nothing in the browser, so
MathJax (a script from a CDN) is out. Each ``$...$`` and ``$$...$$`` of a
markdown text becomes MathML (``latex2mathml``), which browsers draw
natively, and the MathML is then cleaned by nh3 with an allow-list of
presentation elements and attributes: no links, no scripts, no styles, no
``annotation-xml``. Code spans and fenced code are left alone, ``\\$`` is a
dollar sign, and a formula that cannot be converted is shown as its LaTeX
source in a code span.
"""

from __future__ import annotations

import html
import re

import nh3
from latex2mathml.converter import convert

MATH_TAGS = {
    "math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt", "mroot",
    "msub", "msup", "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "menclose", "merror", "semantics",
}
MATH_ATTRIBUTES = {
    "math": {"display", "xmlns"},
    "*": {"mathvariant", "stretchy", "fence", "separator", "lspace", "rspace", "width",
          "height", "depth", "columnalign", "rowalign", "columnspacing", "rowspacing",
          "displaystyle", "scriptlevel", "accent", "accentunder", "movablelimits", "minsize",
          "maxsize", "symmetric", "largeop", "linethickness", "notation", "form"},
}
# code (fenced or inline) first, so that dollars inside it are never read as math
_PIECES = re.compile(
    r"(?P<fence>^```.*?^```[ \t]*$)"
    r"|(?P<code>`+)(?P<code_body>.+?)(?P=code)"
    r"|(?P<escaped>\\\$)"
    r"|\$\$(?P<block>.+?)\$\$"
    r"|\$(?P<inline>[^\s$](?:[^$\n]|\n(?!\n))*?)(?<!\s)\$",
    re.S | re.M)


def clean_mathml(markup: str) -> str:
    """MathML reduced to the allowed elements and attributes, with no URL anywhere."""
    return nh3.clean(markup, tags=MATH_TAGS, attributes=MATH_ATTRIBUTES, url_schemes=set(),
                     link_rel=None, strip_comments=True)


def to_mathml(latex: str, display: bool) -> str:
    """One formula as cleaned MathML on a single line (a blank line would end an HTML block)."""
    try:
        markup = convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds on malformed input
        return f"<code>{html.escape(latex.strip())}</code>"
    return " ".join(clean_mathml(markup).split())


def render_math(markdown: str) -> str:
    """``markdown`` with every formula replaced by MathML (the rest unchanged)."""

    def replace(match: re.Match) -> str:
        if match.group("fence") or match.group("code"):
            return match.group(0)
        if match.group("escaped"):
            return "&#36;"
        if match.group("block") is not None:
            return to_mathml(match.group("block"), display=True)
        return to_mathml(match.group("inline"), display=False)

    return _PIECES.sub(replace, markdown)
