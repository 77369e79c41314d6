"""Drive a notebook in JupyterLab the way a person does: clicks, menus, key presses.

The notebook file on disk tells which DOM cell is which (cell ``i`` in the
JSON is the ``i``-th ``.jp-Cell`` on the page, since the tests switch
JupyterLab's windowing off); everything else happens through the page.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from course_grader.cells import grade_id_of

from .answers import indented, stub_position

EXECUTED_PROMPT = re.compile(r"^\[\d+\]:$")
ANSI_DEBRIS = re.compile(r"\x1b\[|\[(?:\d{1,3};)*\d{1,3}m")
STDERR_OUTPUT = '[data-mime-type="application/vnd.jupyter.stderr"]'


def grade_ids(notebook: Path) -> list[str | None]:
    """The nbgrader grade_id of every cell of ``notebook`` (None where there is none)."""
    cells = json.loads(notebook.read_text())["cells"]
    return [grade_id_of(cell) for cell in cells]


class NotebookUI:
    def __init__(self, page: Page, notebook: Path):
        self.page = page
        self.notebook = notebook
        self.ids = grade_ids(notebook)
        self.panel = page.locator(".jp-NotebookPanel:visible").first
        self.cells = self.panel.locator(".jp-Notebook .jp-Cell")

    # -- finding things -------------------------------------------------------

    def index(self, grade_id: str) -> int:
        if grade_id not in self.ids:
            raise AssertionError(f"{self.notebook.name} has no cell with grade_id "
                                 f"{grade_id!r}; it has {[i for i in self.ids if i]}")
        return self.ids.index(grade_id)

    def cell(self, which: int | str) -> Locator:
        return self.cells.nth(which if isinstance(which, int) else self.index(which))

    def prompt(self, which: int | str) -> str:
        return self.cell(which).locator(".jp-InputPrompt").first.inner_text().strip()

    def outputs(self, which: int | str) -> Locator:
        return self.cell(which).locator(".jp-OutputArea-output")

    def errors(self, which: int | str) -> Locator:
        """Outputs shown on the red stderr background: tracebacks, warnings."""
        return self.cell(which).locator(f".jp-OutputArea-output{STDERR_OUTPUT}")

    def output_text(self, which: int | str) -> str:
        outputs = self.outputs(which)
        return "\n".join(outputs.nth(i).inner_text() for i in range(outputs.count()))

    def code_cells(self) -> list[int]:
        cells = json.loads(self.notebook.read_text())["cells"]
        return [i for i, cell in enumerate(cells) if cell["cell_type"] == "code"]

    def sources(self) -> list[str]:
        """Every cell's source as the notebook file on disk holds it."""
        cells = json.loads(self.notebook.read_text())["cells"]
        return ["".join(cell["source"]) if isinstance(cell["source"], list)
                else cell["source"] for cell in cells]

    # -- waiting ----------------------------------------------------------------

    def wait_loaded(self, timeout: float = 60_000) -> None:
        expect(self.cells).to_have_count(len(self.ids), timeout=timeout)
        self.wait_kernel_idle(timeout)
        # the status bar says "<kernel> | Idle" once the kernel is connected
        expect(self.page.locator(".jp-StatusBar-Widget")).to_contain_text(
            re.compile(r"\| Idle"), timeout=timeout)

    def wait_kernel_idle(self, timeout: float = 60_000) -> None:
        indicator = self.panel.locator(".jp-Notebook-ExecutionIndicator")
        expect(indicator).to_have_attribute("data-status", "idle", timeout=timeout)

    def wait_executed(self, which: int | str, before: str | None = None,
                      timeout: float = 120_000) -> str:
        """Wait until the cell's prompt shows a finished run (``[n]:``, not ``before``)."""
        deadline = time.monotonic() + timeout / 1000
        prompt = ""
        while time.monotonic() < deadline:
            prompt = self.prompt(which)
            if EXECUTED_PROMPT.match(prompt) and prompt != before:
                return prompt
            self.page.wait_for_timeout(200)
        raise AssertionError(f"cell {which!r} did not finish running within "
                             f"{timeout / 1000:.0f} s (prompt {prompt!r})")

    # -- acting -----------------------------------------------------------------

    def hide_side_panel(self) -> None:
        hide_side_panel(self.page)

    def menu(self, *path: str) -> None:
        menu(self.page, *path)

    def select(self, which: int | str) -> None:
        """Select a cell in command mode by clicking its prompt."""
        cell = self.cell(which)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").first.click()
        expect(cell).to_have_class(re.compile(r"\bjp-mod-selected\b"))

    def type_over_stub(self, which: int | str, body: list[str]) -> None:
        """Replace the answer cell's stub with ``body`` by typing it, key by key."""
        number, indent = stub_position(self.editor_text(which))
        self.type_over_lines(which, number, 2, indented(body, indent))

    def type_over_lines(self, which: int | str, first: int, count: int,
                        lines: list[str]) -> None:
        """Select lines ``first`` .. ``first + count - 1`` of the editor and type ``lines``.

        The cursor goes there with Ctrl+Home and the arrow keys and the old
        lines are selected with Shift, as a person would.  JupyterLab indents
        each new line itself; so after every Enter the automatic indentation
        is selected (Shift+Home) and overwritten by the line as written.
        """
        old = self.editor_text(which).split("\n")
        expected = "\n".join(old[:first] + lines + old[first + count:])
        cell = self.cell(which)
        cell.scroll_into_view_if_needed()
        cell.locator(".cm-content").click()
        keyboard = self.page.keyboard
        keyboard.press("ControlOrMeta+Home")
        for _ in range(first):
            keyboard.press("ArrowDown")
        for _ in range(count - 1):
            keyboard.press("Shift+ArrowDown")
        keyboard.press("Shift+End")
        for number, line in enumerate(lines):
            if number:
                keyboard.press("Enter")
                keyboard.press("Shift+Home")
            keyboard.type(line)
        typed = self.editor_text(which)
        if typed != expected:
            raise AssertionError("the editor holds other text than was typed:\n"
                                 f"--- wanted\n{expected}\n--- editor\n{typed}")
        keyboard.press("Escape")  # back to command mode

    def editor_text(self, which: int | str) -> str:
        lines = self.cell(which).locator(".cm-content .cm-line")
        return "\n".join(lines.evaluate_all("lines => lines.map(l => l.textContent)"))

    def run_cells(self, first: int | str, count: int) -> list[str]:
        """Select ``first`` and press Shift+Enter ``count`` times; wait for each run."""
        start = first if isinstance(first, int) else self.index(first)
        before = [self.prompt(start + k) for k in range(count)]
        self.select(start)
        for _ in range(count):
            self.page.keyboard.press("Shift+Enter")
        return [self.wait_executed(start + k, before[k]) for k in range(count)]

    def save(self) -> None:
        self.page.keyboard.press("ControlOrMeta+s")
        expect(self.page.locator(".lm-TabBar-tab.jp-mod-dirty")).to_have_count(0)


def menu(page: Page, *path: str) -> None:
    """Click through JupyterLab's menu bar, e.g. ``menu(page, "Run", "Run All Cells")``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(
        f"^{re.escape(path[0])}$")).click()
    for label in path[1:]:
        page.locator(".lm-Menu:visible .lm-Menu-itemLabel",
                     has_text=re.compile(f"^{re.escape(label)}$")).last.click()


def hide_side_panel(page: Page) -> None:
    """Give the main area the whole width, as on a laptop with the file browser closed."""
    left = page.locator("#jp-left-stack")
    expect(left).to_be_visible()  # a fresh (?reset) workspace opens the file browser
    menu(page, "View", "File Browser")
    expect(left).to_be_hidden()


def open_notebook(page: Page, server, relative: str) -> NotebookUI:
    # ?reset: a fresh workspace, without the tabs an earlier test left open
    page.goto(server.url(f"lab/tree/{relative}?reset"))
    ui = NotebookUI(page, server.root / relative)
    ui.wait_loaded()
    return ui


def without_ansi_debris(text: str) -> bool:
    return ANSI_DEBRIS.search(text) is None
