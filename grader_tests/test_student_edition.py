"""The student edition in notebooks/ survives a download (fast: no nbgrader run).

Its provided modules must be real files equal to the ones in source/, so a
zip of the folder or a checkout without symlink support still holds the code
the first cell imports.  test_notebook.py compares the whole folder with a
fresh nbgrader release.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from course_grader.student_edition import MANIFEST, read_manifest
from course_paths import ASSIGNMENT, ROOT

SOURCE = ROOT / "source" / ASSIGNMENT
# the provided modules and the visible checks' catalogue of mistakes they read
PROVIDED = sorted(p.name for pattern in ("*.py", "*.json") for p in SOURCE.glob(pattern))


def test_every_provided_module_is_shipped():
    assert {"model.py", "self_check.py", "visible_mistakes.json"} <= set(PROVIDED)
    shipped = sorted(p.name for pattern in ("*.py", "*.json")
                     for p in (ROOT / "notebooks").glob(pattern) if p.name != MANIFEST)
    assert shipped == PROVIDED


def test_the_release_manifest_lists_what_the_edition_holds():
    """Publishing trusts this list to know which files are the assignment's: a name missing
    from it would be left behind as a foreign file by the next release."""
    holds = sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.name != MANIFEST)
    assert read_manifest(ROOT / "notebooks") == {ASSIGNMENT: holds}, (
        f"notebooks/{MANIFEST} is stale; run python3 tasks.py release and commit")


@pytest.mark.parametrize("name", PROVIDED)
def test_provided_module_is_a_real_copy_of_the_source(name):
    shipped = ROOT / "notebooks" / name
    assert not shipped.is_symlink(), f"notebooks/{name} is a link; run python3 tasks.py release"
    assert shipped.read_bytes() == (SOURCE / name).read_bytes(), (
        f"notebooks/{name} differs from source/; run python3 tasks.py release and commit")


def _heading_anchors(nb) -> dict[str, str]:
    """JupyterLab's id for each heading: its text with every space made a hyphen
    (``createHeaderId`` in @jupyterlab/rendermime); the headings carry no markup."""
    anchors = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"#{1,6} (.+)$", line)
            if match:
                text = match[1].strip()
                anchors[text.replace(" ", "-")] = text
    return anchors


def test_the_contents_links_reach_every_section():
    nb = nbformat.read(SOURCE / "Initialization.ipynb", as_version=4)
    anchors = _heading_anchors(nb)
    links = [link for cell in nb.cells if cell.cell_type == "markdown"
             for link in re.findall(r"\]\(#([^)\s]+)\)", cell.source)]
    assert links, "the contents table links to no section"
    assert [link for link in links if link not in anchors] == []
    sections = [a for a, text in anchors.items() if re.match(r"\d+\. ", text)]
    assert sorted(sections) == sorted(set(links))
    # a link target may not hold what ends a markdown link early
    assert all("(" not in a and ")" not in a for a in sections)
