"""What crosses the trust boundary: the child's files, and notebooks shown in a browser.

Each test plays the hostile side by hand: files a subverted child could
leave behind, outputs and markdown a student could put into a notebook.
"""

from __future__ import annotations

import base64
import json
import os
import re
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
from html_safety import runnable_payloads
from nbconvert import HTMLExporter

from course_grader.verdict import intake
from course_grader.verdict.inert import make_inert
from course_grader.verdict.selfcontained import outside_names


def _exercise(tmp_path, calls, name="he", files=None):
    folder = tmp_path / "out" / name
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({"defined": True, "calls": calls}))
    for file_name, array in (files or {}).items():
        np.save(folder / file_name, array)
    return tmp_path / "out"


def _one_array_call(file_name="c0_0.npy"):
    return {"type": "dict", "value": {"kind": "dict", "keys": ["W1"], "values": {
        "W1": {"type": "ndarray", "kind": "ndarray", "file": file_name}}}}


@pytest.fixture
def refusals(monkeypatch):
    """The reasons intake gives when it refuses (``read_exercise`` itself only says None).

    intake raises and catches its ``Unusable`` by the module's global name, so a subclass
    put there records every refusal without changing what is refused.
    """
    seen: list[str] = []

    class Recorded(intake.Unusable):
        def __init__(self, reason):
            seen.append(reason)
            super().__init__(reason)

    monkeypatch.setattr(intake, "Unusable", Recorded)
    return seen


def _refused(out, refusals, reason: str, name="he", calls=1) -> None:
    """No data for the exercise, for exactly ``reason`` (not a missing file, not a crash)."""
    assert intake.read_exercise(out, name, calls) is None
    assert refusals and re.fullmatch(reason, refusals[-1]), refusals


def test_honest_output_is_read(tmp_path, refusals):
    out = _exercise(tmp_path, [_one_array_call()], files={"c0_0.npy": np.ones((2, 3))})
    result = intake.read_exercise(out, "he", 1)
    assert result.calls[0].arrays["W1"].shape == (2, 3)
    assert refusals == []


def test_pickled_object_array_is_refused(tmp_path, refusals):
    out = _exercise(tmp_path, [_one_array_call()])
    np.save(out / "he" / "c0_0.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _refused(out, refusals, "not a numeric array")


def test_symlinked_files_are_refused(tmp_path, refusals):
    out = _exercise(tmp_path, [_one_array_call()], files={"c0_0.npy": np.ones((2, 3))})
    secret = tmp_path / "secret.npy"
    np.save(secret, np.zeros(3))
    os.unlink(out / "he" / "c0_0.npy")
    os.symlink(secret, out / "he" / "c0_0.npy")
    _refused(out, refusals, "c0_0.npy is not a small regular file")
    os.replace(out / "he" / "result.json", tmp_path / "r.json")
    os.symlink(tmp_path / "r.json", out / "he" / "result.json")
    _refused(out, refusals, "result.json is not a small regular file")


@pytest.mark.parametrize("file_name", ["../c0_0.npy", "/etc/passwd", "c0_0.npy/..", "x.npy"])
def test_file_names_outside_the_pattern_are_refused(tmp_path, refusals, file_name):
    out = _exercise(tmp_path, [_one_array_call(file_name)], files={"c0_0.npy": np.ones(2)})
    _refused(out, refusals, "bad array file name")


def test_header_claiming_a_huge_array_is_refused_before_reading(tmp_path, refusals):
    out = _exercise(tmp_path, [_one_array_call()])
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    with open(out / "he" / "c0_0.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 64)
    _refused(out, refusals, "array too large")


@pytest.mark.parametrize("shape", [(2**70,), (2**40, 2**40), (2**63, 2), (-1,)])
def test_a_header_whose_size_overflows_is_zero_points_with_a_message(tmp_path, shape):
    out = _exercise(tmp_path, [_one_array_call()])
    with open(out / "he" / "c0_0.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                                  "shape": shape})
        fh.write(b"\0" * 64)
    assert intake.read_exercise(out, "he", 1) is None  # no OverflowError: the student is not
    from course_grader.assignments.initialization import EXERCISES, checks  # marked failed

    verdict = checks.judge(EXERCISES["he"], "structure", None, lambda *a: None)
    assert not verdict.passed and verdict.code == "no_result"
    assert "not plain numbers of a sensible size" in verdict.message


# result.json documents of the wrong shape -> the refusal they must meet (None: refused by
# the structural checks of read_exercise before any call record is read)
MALFORMED = [
    ([], None), ("text", None), ({"defined": "yes"}, None),
    ({"defined": True, "calls": "many"}, None),
    ({"defined": True, "calls": [1, 2]}, None),  # two calls where one is expected
    ({"defined": True, "calls": [1]}, "call record expected"),
    ({"defined": True, "calls": [{"type": "dict", "value": {"kind": "dict", "keys": "W1"}}]},
     "keys and values expected"),
    ({"defined": True, "calls": [{"raised": ["ValueError"]}]}, "error record expected"),
    ({"defined": True, "calls": [{"type": "dict", "value": {"kind": "dict", "keys": ["W1"],
                                  "values": {"W2": {"kind": "ndarray", "file": "c0_0.npy"}}}}]},
     "value record expected"),
]


@pytest.mark.parametrize("raw,reason", MALFORMED, ids=[str(i) for i in range(len(MALFORMED))])
def test_malformed_results_give_no_data(tmp_path, refusals, raw, reason):
    folder = tmp_path / "out" / "he"
    folder.mkdir(parents=True)
    np.save(folder / "c0_0.npy", np.ones(2))
    # the control: the same folder with a well-formed document is read
    (folder / "result.json").write_text(json.dumps({"defined": True,
                                                    "calls": [_one_array_call()]}))
    assert intake.read_exercise(tmp_path / "out", "he", 1) is not None
    (folder / "result.json").write_text(json.dumps(raw))
    if reason is None:
        assert intake.read_exercise(tmp_path / "out", "he", 1) is None
        assert refusals == []
    else:
        _refused(tmp_path / "out", refusals, reason)


def test_deeply_nested_json_gives_no_data(tmp_path, monkeypatch):
    folder = tmp_path / "out" / "he"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text("[" * 100000 + "]" * 100000)
    parsed = []

    def parse(text):
        try:
            return json.loads(text)
        except RecursionError:
            parsed.append("too deep")
            raise

    monkeypatch.setattr(intake, "json", SimpleNamespace(loads=parse))  # intake's name only
    assert intake.read_exercise(tmp_path / "out", "he", 1) is None
    assert parsed == ["too deep"]


# -- inert notebooks ---------------------------------------------------------------------

TOKEN = "XSS-TOKEN-7"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def _hostile_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0,
        "x": f"</script><script>alert('{TOKEN}')</script>"}}
    md = nbformat.v4.new_markdown_cell(
        f"<script>alert('{TOKEN}')</script> <img src=x onerror=\"alert('{TOKEN}')\"> "
        f"[click](javascript:alert('{TOKEN}'))\n\n**kept** and [also](javascript:alert('{TOKEN}'))")
    md.metadata["tags"] = [f'x" onmouseover="alert(\'{TOKEN}\')', "fine-tag"]
    code = nbformat.v4.new_code_cell("x = 1")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={
            "text/html": f"<b>bold</b><script>alert('{TOKEN}')</script>"
                         f"<a href=\"javascript:alert('{TOKEN}')\">a</a>",
            "application/javascript": f"alert('{TOKEN}')",
            "image/svg+xml": f"<svg onload=\"alert('{TOKEN}')\"/>",
            "text/plain": "<IPython.core.display.HTML object>"}),
        nbformat.v4.new_output("display_data", data={"image/png": PNG}, metadata={
            "image/png": {"width": f"1\" onerror=\"alert('{TOKEN}')", "height": 20}}),
        nbformat.v4.new_output("display_data", data={"image/png": f"\"><script>{TOKEN}"}),
        nbformat.v4.new_output("display_data", data={"text/vnd.mermaid": TOKEN}),
    ]
    raw = nbformat.v4.new_raw_cell(f"<script>alert('{TOKEN}')</script>")
    raw.metadata["raw_mimetype"] = "text/html"
    trusted = nbformat.v4.new_markdown_cell("> **Predict.** the instructor's own <br> text")
    return nb, [md, code, raw, trusted]


def test_hostile_notebook_becomes_inert():
    nb, cells = _hostile_notebook()
    nb.cells = cells
    before = HTMLExporter(template_name="lab").from_notebook_node(nb)[0]
    assert len(runnable_payloads(before, TOKEN)) >= 4  # the finder sees the attacks
    make_inert(nb, trusted_markdown={cells[3].source})
    text = json.dumps(nb)
    for bad in ("<script", "onerror", "onload", "onmouseover", "application/javascript",
                "image/svg+xml", "widget-state", "mermaid"):
        assert bad not in text, bad
    html = HTMLExporter(template_name="lab").from_notebook_node(nb)[0]
    assert runnable_payloads(html, TOKEN) == []
    md, code, raw, trusted = nb.cells
    assert "<strong>kept</strong>" in md.source and "student-markdown" in md.source
    assert md.metadata["tags"] == ["fine-tag"]
    assert code.outputs[0].data["text/html"].startswith("<b>bold</b>")
    assert code.outputs[1].data["image/png"] == PNG
    assert code.outputs[1].metadata == {"image/png": {"height": 20}}
    assert len(code.outputs) == 2  # the broken image and the mermaid output are gone
    assert raw.source == "" and trusted.source.startswith("> **Predict.**")


# -- self-contained answers ----------------------------------------------------------------

def test_names_from_other_cells_are_reported():
    code = ("def helper(n):\n    return n\n\n"
            "def initialize_parameters_he(layers_dims):\n"
            "    return {f'W{l}': SCALE * np.ones(helper(l)) for l in range(2)}\n")
    assert outside_names(code, "initialize_parameters_he", "import numpy as np\n") == ["SCALE"]
    assert outside_names(code.replace("SCALE", "2"), "initialize_parameters_he",
                         "import numpy as np\n") == []
