"""Training benchmark: the provided model against a straightforward loop.

    python benchmarks/run_benchmarks.py [--repeats 5] [--notebook-repeats 3]

Prints, as medians over repeated runs, the seconds for one 15000-iteration
training per initialization and for executing the whole source notebook,
each beside the same figure for the plain loop in plain_training.py (which
recomputes the loss every iteration and builds every array anew), plus the
speed-up.  It also checks that both print exactly the same costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "source" / "initialization"
sys.path[:0] = [str(SOURCE), str(HERE), str(HERE.parent)]

import model  # noqa: E402
import plain_training  # noqa: E402
from course_grader.assignments.initialization import EXERCISES  # noqa: E402
from course_grader.cells import grade_id_of  # noqa: E402

METHODS = {name: exercise.reference for name, exercise in EXERCISES.items()}


def seconds(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def bench_training(repeats: int, progress) -> list[tuple]:
    X, Y, _, _ = model.load_dataset()
    rows = []
    for name, init in METHODS.items():
        _, fast_costs = model.model(X, Y, init, print_cost=False)
        _, plain_costs = plain_training.train_plainly(X, Y, init, print_cost=False)
        if fast_costs != plain_costs:
            raise SystemExit(f"{name}: the two implementations print different costs")
        fast, plain = [], []
        for _ in range(repeats):  # interleaved, so load changes hit both alike
            fast.append(seconds(model.model, X, Y, init, print_cost=False))
            plain.append(seconds(plain_training.train_plainly, X, Y, init, print_cost=False))
            progress.update(1)
        rows.append((f"train {name} (15000 it.)", statistics.median(fast),
                     statistics.median(plain)))
    return rows


PLAIN_CELL = (
    "import sys\nsys.path.insert(0, {bench!r})\nimport plain_training\n"
    "model.model = plain_training.train_plainly  # benchmark: the straightforward loop\n")


def notebook_copy(plain: bool, folder: Path) -> Path:
    nb = nbformat.read(SOURCE / "Initialization.ipynb", as_version=4)
    if plain:
        setup = next(i for i, c in enumerate(nb.cells)
                     if grade_id_of(c) == "setup")
        nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(PLAIN_CELL.format(bench=str(HERE))))
    path = folder / ("plain.ipynb" if plain else "fast.ipynb")
    nbformat.write(nb, path)
    return path


def bench_notebook(repeats: int, progress) -> tuple:
    from nbclient import NotebookClient

    def execute(path):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(SOURCE)}}).execute()

    with tempfile.TemporaryDirectory() as tmp:
        fast_nb, plain_nb = notebook_copy(False, Path(tmp)), notebook_copy(True, Path(tmp))
        fast, plain = [], []
        for _ in range(repeats):
            fast.append(seconds(execute, fast_nb))
            plain.append(seconds(execute, plain_nb))
            progress.update(1)
    return ("execute source notebook", statistics.median(fast), statistics.median(plain))


def main(argv=None) -> int:
    from tqdm import tqdm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--notebook-repeats", type=int, default=3)
    args = parser.parse_args(argv)
    total = args.repeats * len(METHODS) + args.notebook_repeats
    with tqdm(total=total, desc="benchmark runs", file=sys.stderr) as progress:
        rows = bench_training(args.repeats, progress)
        if args.notebook_repeats:
            rows.append(bench_notebook(args.notebook_repeats, progress))
    print(f"\n{'what':32} {'provided (s)':>13} {'plain (s)':>10} {'speed-up':>9}")
    for what, fast, plain in rows:
        print(f"{what:32} {fast:13.3f} {plain:10.3f} {plain / fast:8.2f}x")
    print(f"\nmedians of {args.repeats} training runs and {args.notebook_repeats} notebook "
          "runs; identical printed costs checked for every method")
    return 0


if __name__ == "__main__":
    sys.exit(main())
