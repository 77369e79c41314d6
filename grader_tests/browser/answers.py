"""What the simulated student writes in place of each answer cell's stub.

Each answer is the loop body that replaces the two stub lines
(``# YOUR CODE HERE`` and ``raise NotImplementedError()``), indented as it
sits inside the student edition's ``for l in range(1, L + 1):`` loop.
"""

from __future__ import annotations

import json
from pathlib import Path

from course_grader.cells import grade_id_of

STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")

CORRECT = {
    "zeros": [
        'parameters["W" + str(l)] = np.zeros((layers_dims[l], layers_dims[l - 1]))',
        'parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))',
    ],
    "random": [
        'parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * 10',
        'parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))',
    ],
    "he": [
        "scale = np.sqrt(2 / layers_dims[l - 1])",
        'parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * scale',
        'parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))',
    ],
}

# The classic slip: the "small random" recipe where the large one was asked for.
WRONG_RANDOM_SCALE = [
    'parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * 0.01',
    'parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))',
]


def stub_position(source: str) -> tuple[int, str]:
    """Line number of ``# YOUR CODE HERE`` in ``source`` and the stub's indentation."""
    lines = source.split("\n")
    hits = [n for n, line in enumerate(lines) if line.strip() == STUB[0]]
    if len(hits) != 1 or hits[0] + 1 >= len(lines) or lines[hits[0] + 1].strip() != STUB[1]:
        raise AssertionError("the answer cell should hold the stub '# YOUR CODE HERE' "
                             "followed by 'raise NotImplementedError()' exactly once:\n"
                             + source)
    line = lines[hits[0]]
    return hits[0], line[: len(line) - len(line.lstrip())]


def indented(body: list[str], indent: str) -> list[str]:
    return [indent + line for line in body]


def fill_stub(source: str, body: list[str]) -> str:
    """``source`` with its stub replaced by ``body`` (at the stub's indentation)."""
    number, indent = stub_position(source)
    lines = source.split("\n")
    lines[number:number + 2] = indented(body, indent)
    return "\n".join(lines)


def write_answers(notebook: Path, bodies: dict[str, list[str]]) -> None:
    """Fill the stubs of the answer cells named in ``bodies`` (exercise -> body) on disk."""
    data = json.loads(notebook.read_text())
    wanted = {f"{exercise}_answer": body for exercise, body in bodies.items()}
    for cell in data["cells"]:
        grade_id = grade_id_of(cell)
        if grade_id in wanted:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) \
                else cell["source"]
            cell["source"] = fill_stub(source, wanted.pop(grade_id))
    if wanted:
        raise AssertionError(f"{notebook} has no answer cells {sorted(wanted)}")
    notebook.write_text(json.dumps(data, indent=1) + "\n")
