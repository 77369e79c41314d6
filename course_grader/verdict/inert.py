"""Make a graded notebook safe to open: nothing a student wrote can run in a browser.

The autograded notebook is what the formgrader shows the instructor, and the
feedback HTML is rendered from it, so both are cleaned here, in the grader's
process, with a maintained sanitizer (nh3, the Python binding of ammonia):

* outputs keep only plain text, PNG/JPEG/GIF images with valid base64, and
  HTML that nh3 has cleaned; Javascript, SVG, markdown, LaTeX, widget and any
  other rich output is dropped (its text/plain fallback stays);
* output metadata keeps only numeric image sizes (templates put it in attributes);
* markdown cells whose text is not the instructor's own are rendered to HTML
  and cleaned; cell tags and ids that are not plain words are dropped;
* raw cells and notebook-level widget state are removed.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid

import nh3
from nbconvert.filters.markdown import markdown2html
from nbformat import NotebookNode

from ..math_markup import render_math

IMAGES = {"image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8", "image/gif": b"GIF8"}
WORD = re.compile(r"[A-Za-z0-9_-]{1,64}")
URL_SCHEMES = {"http", "https", "mailto"}


def clean_html(html: str) -> str:
    """Sanitized HTML whose text MathJax will not typeset (its \\href takes any URL)."""
    clean = nh3.clean(html, url_schemes=URL_SCHEMES)
    return clean.replace("$", "&#36;").replace("\\", "&#92;")


def _image_ok(mime: str, data) -> bool:
    if not isinstance(data, str):
        return False
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return raw.startswith(IMAGES[mime])


def _size_metadata(metadata) -> dict:
    kept = {}
    if isinstance(metadata, dict):
        for mime in IMAGES:
            sizes = metadata.get(mime)
            if isinstance(sizes, dict):
                numeric = {k: v for k, v in sizes.items() if k in ("width", "height")
                           and type(v) in (int, float) and 0 < v < 10000}
                if numeric:
                    kept[mime] = numeric
    return kept


def _clean_data(data) -> dict:
    clean = {}
    if not isinstance(data, dict):
        return clean
    for mime, value in data.items():
        if mime == "text/plain":
            clean[mime] = value if isinstance(value, str) else str(value)
        elif mime in IMAGES and _image_ok(mime, value):
            clean[mime] = value
        elif mime == "text/html" and isinstance(value, str):
            clean[mime] = clean_html(value)
    return clean


def clean_output(out) -> NotebookNode | None:
    """A safe copy of one output, or None to drop it."""
    kind = out.get("output_type")
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return NotebookNode(output_type="stream", name=name, text=str(out.get("text", "")))
    if kind == "error":
        trace = out.get("traceback")
        trace = [str(t) for t in trace] if isinstance(trace, list) else []
        return NotebookNode(output_type="error", ename=str(out.get("ename", "")),
                            evalue=str(out.get("evalue", "")), traceback=trace)
    if kind in ("display_data", "execute_result"):
        data = _clean_data(out.get("data"))
        if not data:
            return None
        node = NotebookNode(output_type=kind, data=data,
                            metadata=NotebookNode(_size_metadata(out.get("metadata"))))
        if kind == "execute_result":
            count = out.get("execution_count")
            node["execution_count"] = count if type(count) is int else None
        return node
    return None


def clean_markdown(source: str) -> str:
    """Student markdown as cleaned HTML, in one HTML block.

    The cell is rendered to HTML first, then sanitized.  Templates render the
    result as markdown once more: inside a ``<div>`` with no blank line, the
    markdown renderer passes it through untouched, so no link syntax is revived.
    """
    lines = clean_html(markdown2html(source)).splitlines()
    body = "\n".join(line for line in lines if line.strip())
    return f'<div class="student-markdown">\n{body}\n</div>'


def make_inert(nb, trusted_markdown: set[str] = frozenset(), math: bool = False) -> None:
    """Clean ``nb`` in place; ``trusted_markdown`` holds the instructor's markdown texts.

    With ``math`` the formulas of the instructor's markdown become cleaned MathML
    (``math_markup``), for pages that load no MathJax (the feedback).
    """
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("title", None)
    seen_ids = set()
    for cell in nb.cells:
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not WORD.fullmatch(cell_id) or cell_id in seen_ids:
            cell["id"] = uuid.uuid4().hex[:8]
        seen_ids.add(cell["id"])
        tags = cell.get("metadata", {}).get("tags")
        if tags is not None:
            cell.metadata["tags"] = [t for t in tags if isinstance(t, str) and WORD.fullmatch(t)] \
                if isinstance(tags, list) else []
        if cell.cell_type == "code":
            cleaned = (clean_output(o) for o in cell.get("outputs", []) if isinstance(o, dict))
            cell.outputs = [o for o in cleaned if o is not None]
        elif cell.cell_type == "markdown":
            cell.pop("attachments", None)
            if cell.source not in trusted_markdown:
                cell.source = clean_markdown(cell.source)
            elif math:
                cell.source = render_math(cell.source)
        else:  # raw cells are rendered verbatim by some templates
            cell.source = ""
            cell.metadata.pop("raw_mimetype", None)
            cell.metadata.pop("format", None)
