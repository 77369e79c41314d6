"""Every function of ``course_grader/`` can be read at once: at most ``LIMIT`` lines.

Counted from its ``def`` to its last line, docstring and comments included (that
is what a reader has to hold).  A function past the limit is split into named
steps; ``ALLOWED`` would list one that cannot be, with the reason, and is empty.
"""

from __future__ import annotations

import ast
from pathlib import Path

from course_paths import ROOT

LIMIT = 60
ALLOWED: dict[str, str] = {}  # "path:function" -> why it stays longer


def long_functions(root: Path, limit: int) -> dict[str, int]:
    """"path:function" -> its length in lines, for every function longer than ``limit``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found[f"{path.relative_to(root.parent)}:{node.name}"] = length
    return found


def test_no_function_of_the_grader_is_longer_than_the_limit():
    found = {name: n for name, n in long_functions(ROOT / "course_grader", LIMIT).items()
             if name not in ALLOWED}
    assert not found, f"split into named steps (at most {LIMIT} lines each): {found}"


def test_the_allow_list_names_only_functions_that_are_still_long():
    found = long_functions(ROOT / "course_grader", LIMIT)
    assert not set(ALLOWED) - set(found), "drop these from ALLOWED: they are short now"


def test_the_count_sees_a_long_function(tmp_path):
    package = tmp_path / "course_grader"
    (package / "inner").mkdir(parents=True)
    body = "".join(f"        x{i} = {i}\n" for i in range(LIMIT))
    (package / "inner" / "long.py").write_text(f"class C:\n    def method(self):\n{body}")
    (package / "short.py").write_text("def f():\n    return 1\n")
    assert long_functions(package, LIMIT) == {"course_grader/inner/long.py:method": LIMIT + 1}
