"""Look at every submission before any kernel starts, and repair a working copy.

nbgrader aborts or mis-grades on submissions that a person would grade without
thinking twice: a notebook saved under another name, a copy-pasted answer cell,
a test cell whose metadata was stripped.  Each check here says what it found
and, when it can, repairs the *working copy* that nbgrader will grade.  The
student's submitted files are only ever read.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from ..cells import grade_id_of, is_locked, is_setup, is_solution, is_test, nbgrader_meta
from ..untrusted_tree import TreeRefused, hash_tree, remove_tree
from ..verdict.child import to_python
from ..verdict.selfcontained import defined_functions, outside_names

NBGRADER_KEYS = ("grade", "solution", "locked", "points", "task")
# written by nbgrader's exchange on submit: the submission time (late penalties, the
# formgrader's Timestamp column) and the secret release_feedback checks
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")


@dataclass
class Finding:
    kind: str
    message: str
    repaired: bool = False


@dataclass
class Preflight:
    student: str
    content_hash: str
    findings: list[Finding] = field(default_factory=list)
    failure: str | None = None  # set when the submission cannot be graded at all

    @property
    def repaired(self) -> bool:
        return any(f.repaired for f in self.findings)

    def note(self, kind: str, message: str, repaired: bool = False) -> None:
        self.findings.append(Finding(kind, message, repaired))

    def to_dict(self) -> dict:
        return asdict(self)


# what the editor leaves beside a notebook; never graded, never hashed
SKIPPED = frozenset({".ipynb_checkpoints"})


def check_submission(folder: Path) -> tuple[str, str | None]:
    """(digest of every folder, file name and byte, the refusal or None).

    The walk is ``untrusted_tree``'s: iterative, bounded, refusing links,
    FIFOs, devices, hard links and anything past its caps, so no folder a
    student built can crash or stall whoever looks at it.
    """
    if not folder.is_dir():
        return "missing", None
    try:
        return hash_tree(folder, skip=SKIPPED), None
    except TreeRefused as refused:
        reason = str(refused)
    except OSError as error:
        reason = f"it cannot be read ({error.strerror})"
    return "refused-" + hashlib.sha256(reason.encode()).hexdigest()[:16], reason


def submission_hash(folder: Path) -> str:
    """The digest of ``check_submission``; never raises."""
    return check_submission(folder)[0]


def refusal_message(reason: str) -> str:
    return f"the submission folder was refused: {reason}"


# the types nbgrader expects in a cell's grading metadata
FIELD_TYPES = {"grade": bool, "solution": bool, "locked": bool, "task": bool,
               "grade_id": str, "points": (int, float), "schema_version": int,
               "checksum": str, "cell_type": str}


def malformed_fields(meta) -> list[str]:
    """Fields of a cell's nbgrader metadata whose JSON type nbgrader would choke on."""
    if not isinstance(meta, dict):
        return ["nbgrader"]
    bad = []
    for key, kind in FIELD_TYPES.items():
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            bad.append(key)
    return bad


def _fingerprint(release_cell) -> str:
    """A line that identifies an answer or test cell even without its metadata."""
    for line in release_cell.source.splitlines():
        text = line.strip()
        if text.startswith("def ") or (text and not text.startswith("#")):
            return text.split("(")[0] + "("
    return release_cell.source.strip()[:40]


class Repairer:
    """Checks one parsed notebook against the release and fixes what it can."""

    def __init__(self, release: nbformat.NotebookNode, report: Preflight):
        self.release = release
        self.report = report
        self.release_ids = [(grade_id_of(c), c) for c in release.cells if grade_id_of(c)]

    def run(self, nb) -> None:
        self._malformed(nb)
        self._unique_cell_ids(nb)
        self._duplicates(nb)
        for grade_id, release_cell in self.release_ids:
            self._restore(nb, grade_id, release_cell)
        self._stray_ids(nb)

    def _malformed(self, nb) -> None:
        """Drop grading metadata nbgrader could not read; _restore puts the release's back."""
        for index, cell in enumerate(nb.cells):
            if not isinstance(cell.get("metadata"), dict):
                cell["metadata"] = nbformat.NotebookNode()
            if not isinstance(cell.get("source"), str):
                cell["source"] = ""
            if "nbgrader" not in cell.metadata:
                continue
            bad = malformed_fields(cell.metadata["nbgrader"])
            if not bad and grade_id_of(cell) is None:
                # grading metadata that grades nothing: an ordinary cell to nbgrader too
                cell.metadata.pop("nbgrader")
                continue
            if bad:
                cell.metadata.pop("nbgrader")
                self.report.note("metadata_malformed", f"cell {index} had malformed grading "
                                 f"metadata ({', '.join(bad)}); treated as an ordinary cell",
                                 True)

    def _unique_cell_ids(self, nb) -> None:
        seen, renumbered = set(), False
        for cell in nb.cells:
            if cell.get("id") in seen:
                renumbered = True
            if not cell.get("id") or cell["id"] in seen:
                cell["id"] = uuid.uuid4().hex[:8]
            seen.add(cell["id"])
        if renumbered:  # raw JSON copy-paste: nbformat would refuse the notebook
            self.report.note("cell_ids", "duplicated notebook cell ids renumbered", True)

    def _duplicates(self, nb) -> None:
        counts = Counter(grade_id_of(c) for c in nb.cells if grade_id_of(c))
        for grade_id, count in counts.items():
            if count < 2:
                continue
            copies = [c for c in nb.cells if grade_id_of(c) == grade_id]
            for cell in copies[:-1]:  # the last copy holds the student's latest work
                cell.metadata.pop("nbgrader", None)
                cell.metadata.pop("deletable", None)
                cell.metadata.pop("editable", None)
            self.report.note("duplicate_cell", f"graded cell {grade_id!r} appears {count} times;"
                             " graded the last copy, the others run as ordinary cells", True)

    def _restore(self, nb, grade_id: str, release_cell) -> None:
        present = [c for c in nb.cells if grade_id_of(c) == grade_id]
        if not present:
            present = self._find_respelled(nb, grade_id)
        if not present:
            cell = self._find_unlabelled(nb, release_cell)
            if cell is not None:
                self._copy_metadata(cell, release_cell)
                self.report.note("metadata_stripped", f"cell {grade_id!r} had lost its grading "
                                 "metadata; restored it from the release", True)
                present = [cell]
            else:
                self._insert(nb, grade_id, release_cell)
                what = "answer" if is_solution(release_cell) else "test"
                self.report.note("deleted_cell", f"{what} cell {grade_id!r} was deleted; put "
                                 "the release's cell back", True)
                return
        cell = present[0]
        changed = [key for key in NBGRADER_KEYS
                   if cell.metadata.nbgrader.get(key) != release_cell.metadata.nbgrader.get(key)]
        if cell.cell_type != release_cell.cell_type:
            changed.append(f"cell type {cell.cell_type}")
        if changed:
            self._copy_metadata(cell, release_cell)
            self.report.note("metadata_altered", f"cell {grade_id!r} had altered "
                             f"{', '.join(changed)}; restored from the release", True)
        if is_locked(release_cell) and cell.source != release_cell.source:
            cell.source = release_cell.source
            self.report.note("locked_edited", f"locked cell {grade_id!r} was edited; restored "
                             "the release's version", True)

    def _find_respelled(self, nb, grade_id: str) -> list:
        """The cell whose grade id is the release's but for blanks (an editor's stray
        space): the student's cell, not the release's stub, is the one to grade."""
        known = {gid for gid, _ in self.release_ids}
        for cell in nb.cells:
            gid = grade_id_of(cell)
            if gid and gid not in known and "".join(gid.split()) == grade_id:
                cell.metadata.nbgrader["grade_id"] = grade_id
                self.report.note("metadata_altered", f"cell {grade_id!r} had its grading id "
                                 "changed; restored it from the release", True)
                return [cell]
        return []

    def _find_unlabelled(self, nb, release_cell):
        mark = _fingerprint(release_cell)
        for cell in nb.cells:
            if not nbgrader_meta(cell) and mark in cell.source:
                return cell
        return None

    def _copy_metadata(self, cell, release_cell) -> None:
        cell.metadata["nbgrader"] = copy.deepcopy(release_cell.metadata.nbgrader)
        for key in ("deletable", "editable"):
            if key in release_cell.metadata:
                cell.metadata[key] = release_cell.metadata[key]
        if cell.cell_type != release_cell.cell_type:
            cell.cell_type = release_cell.cell_type
            if cell.cell_type == "code":
                cell["outputs"], cell["execution_count"] = [], None
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
            if is_test(release_cell):
                cell.source = release_cell.source

    def _insert(self, nb, grade_id: str, release_cell) -> None:
        order = [gid for gid, _ in self.release_ids]
        position = len(nb.cells)
        for earlier in reversed(order[:order.index(grade_id)]):
            index = next((i for i, c in enumerate(nb.cells) if grade_id_of(c) == earlier), None)
            if index is not None:
                position = index + 1
                break
        else:
            position = 0 if order.index(grade_id) == 0 else position
        cell = copy.deepcopy(release_cell)
        cell["id"] = uuid.uuid4().hex[:8]
        nb.cells.insert(position, cell)

    def _stray_ids(self, nb) -> None:
        known = {gid for gid, _ in self.release_ids}
        for cell in nb.cells:
            gid = grade_id_of(cell)
            if gid and gid not in known:
                cell.metadata.pop("nbgrader", None)
                self.report.note("unknown_cell", f"cell with unknown grading id {gid!r} "
                                 "graded as an ordinary cell", True)


def _parse(path: Path, report: Preflight):
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        report.failure = f"{path.name} is not a text file"
        return None
    except json.JSONDecodeError as error:
        truncated = error.pos >= len(raw.rstrip()) - 1
        report.failure = (f"{path.name} is {'truncated' if truncated else 'not valid JSON'} "
                          f"(line {error.lineno}, column {error.colno}: {error.msg})")
        return None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        report.failure = f"{path.name} is JSON but not a Jupyter notebook"
        return None
    for index, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            report.failure = f"{path.name}: cell {index} is not a notebook cell"
            return None
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as error:  # nbformat raises several kinds for broken notebooks
        report.failure = f"{path.name} is not a readable notebook ({error.__class__.__name__})"
        return None
    for cell in nb.cells:  # a cell retyped by hand in the JSON lacks its new type's fields
        if cell.cell_type == "code":
            if not isinstance(cell.get("outputs"), list):
                cell["outputs"] = []
            cell.setdefault("execution_count", None)
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return nb


def _pick_notebook(folder: Path, release, report: Preflight, notebook: str) -> Path | None:
    notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink())
    wanted = folder / f"{notebook}.ipynb"
    if wanted in notebooks:
        chosen = wanted
    else:
        release_ids = {grade_id_of(c) for c in release.cells} - {None}
        candidates = []
        for path in notebooks:
            try:
                cells = json.loads(path.read_text()).get("cells", [])
                ids = {grade_id_of(c) for c in cells if isinstance(c, dict)}
            except (ValueError, AttributeError, TypeError, UnicodeDecodeError):
                continue
            if ids & release_ids:
                candidates.append(path)
        if not notebooks:
            report.failure = f"no notebook in the submission (expected {notebook}.ipynb)"
            return None
        if len(candidates) != 1:
            names = ", ".join(p.name for p in notebooks)
            report.failure = (f"{notebook}.ipynb is missing and no single other notebook is "
                              f"this assignment (found: {names})")
            return None
        chosen = candidates[0]
        report.note("renamed", f"notebook was named {chosen.name!r}; graded it as "
                    f"{notebook}.ipynb", True)
    extra = [p.name for p in notebooks if p != chosen]
    if extra:
        report.note("extra_notebooks", f"extra notebooks not graded: {', '.join(extra)}")
    return chosen


def preflight(course: Path, student: str, release, work_root: Path, assignment: str,
              notebook: str) -> Preflight:
    """Check ``submitted/<student>/<assignment>``; write the working copy nbgrader will grade.

    Never raises: whatever goes wrong with one submission is that student's
    ``failure``, so the rest of the class is still graded.
    """
    folder = course / "submitted" / student / assignment
    content_hash, refused = check_submission(folder)
    report = Preflight(student, content_hash)
    if refused:
        report.failure = refusal_message(refused)
        return report
    try:
        _preflight(folder, release, work_root / student / assignment, report, notebook,
                   released_names(course, assignment))
    except Exception as error:  # a submission we did not foresee: report it, grade the rest
        report.failure = f"preflight could not handle this submission ({error!r:.200})"
    return report


def _self_contained(nb, release, report: Preflight) -> None:
    # the setup cell as the grading child runs it: IPython syntax (%matplotlib) translated,
    # or the whole cell fails to parse and every import in it looks missing
    setup = to_python("\n".join(c.source for c in release.cells if is_setup(c)))
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_solution(cell) or not grade_id_of(cell):
            continue
        # every function the answer cell defines runs alone at grading
        for function in defined_functions(cell.source):
            names = outside_names(cell.source, function, setup)
            if names:
                report.note("outside_names", f"{function} uses {', '.join(names)}, defined "
                            "outside its answer cell; at grading each function runs with only "
                            "the setup cell's imports, so it will fail there")


def released_names(course: Path, assignment: str) -> frozenset[str]:
    """Names of the files the release hands out: the instructor's folders (trusted), the
    release where it exists, else the source it is generated from (a worker's copy)."""
    names: set[str] = set()
    for where in ("release", "source"):
        try:
            names.update(p.name for p in (course / where / assignment).iterdir())
        except OSError:
            continue
    return frozenset(names)


def _preflight(folder: Path, release, work: Path, report: Preflight, notebook: str,
               released: frozenset[str] = frozenset()) -> None:
    remove_tree(work)
    if not folder.is_dir():
        report.failure = f"no {folder.name}/ folder in submitted/{report.student}"
        return
    chosen = _pick_notebook(folder, release, report, notebook)
    if chosen is None:
        return
    nb = _parse(chosen, report)
    if nb is None:
        return
    Repairer(release, report).run(nb)
    _self_contained(nb, release, report)
    # only the notebook and the exchange's own records: nbgrader copies the release's
    # provided files next to it, and nothing else a student hands in reaches a kernel
    # or the grading child
    work.mkdir(parents=True)
    for name in EXCHANGE_FILES:
        record = folder / name
        if record.is_file() and not record.is_symlink() and record.stat().st_size <= 4096:
            shutil.copyfile(record, work / name)
    # the released helper files come back with every submission (nbgrader submit hands in
    # the whole folder); naming them would only make the note noise
    others = sorted(p.name for p in folder.iterdir() if p != chosen and p.suffix != ".ipynb"
                    and p.name not in EXCHANGE_FILES and p.name not in released)
    if others:
        report.note("extra_files", f"files not used for grading: {', '.join(others[:10])}")
    nbformat.write(nb, work / f"{notebook}.ipynb")
