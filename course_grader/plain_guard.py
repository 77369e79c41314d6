"""Preflight's guarantees for plain ``nbgrader autograde``, plugged in by the course config.

nbgrader 0.9.6 copies every file of ``submitted/<student>/<assignment>`` into
``autograded/`` with ``shutil.copy`` (which reads whatever a link points at)
and grades the notebook it finds there, a link too; a deep folder chain makes
its ``os.walk`` recurse.  Two plug-ins, both named in ``nbgrader_config.py``:

* ``GuardedExporter`` (``c.Autograde.exporter_class``).  nbgrader makes the
  exporter once, after listing the submissions and before copying any, with
  the converter as its parent.  It looks at each submission folder with
  ``untrusted_tree.scan_tree`` (reads no content, follows no link; refuses
  links, FIFOs, sockets, devices, hard links, and folders deeper, wider or
  larger than ``TreeCaps``) and takes a refused one out of the run: its
  files are never copied or read, the reason is logged as an error naming
  the student, and every other student is graded.
* ``OnlyReleasedFiles`` (first of ``c.Autograde.sanitize_preprocessors``).
  Before any cell runs, it deletes from ``autograded/<student>/<assignment>``
  everything that is not a released file or the exchange's records, so only
  the notebook and the released files reach the kernel.

Neither may raise for one student in a way that stops the others: nbgrader
makes the exporter outside its per-student error handling, so every check
there is caught and becomes that student's refusal.
"""

from __future__ import annotations

from pathlib import Path

from nbconvert.exporters import NotebookExporter
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from .untrusted_tree import TreeCaps, TreeRefused, remove_tree, scan_tree

# written by nbgrader's exchange beside the notebook (late penalties, release_feedback)
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")
SKIPPED = frozenset({".ipynb_checkpoints"})
# the autograded folder holds copies of an accepted submission and of source/
DEST_CAPS = TreeCaps(max_depth=16, max_entries=5000, max_total_bytes=1 << 30)


def refusal(folder: Path) -> str | None:
    """Why nbgrader must not touch this submission folder, or None."""
    try:
        student_dir = folder.parent
        if student_dir.is_symlink() or folder.is_symlink():
            return "the submission folder is a symbolic link"
        scan_tree(folder, skip=SKIPPED)
    except TreeRefused as refused:
        return str(refused)
    except Exception as error:  # noqa: BLE001 - whatever it is, this student only
        return f"it cannot be read ({type(error).__name__})"
    return None


class GuardedExporter(NotebookExporter):
    """nbgrader's notebook exporter, which first refuses unsafe submission folders."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        converter = self.parent
        if getattr(converter, "_sanitizing", None) is True and \
                isinstance(getattr(converter, "assignments", None), dict):
            self._refuse_unsafe(converter)

    def _refuse_unsafe(self, converter) -> None:
        for folder in sorted(converter.assignments):
            reason = refusal(Path(folder))
            if reason is None:
                continue
            converter.assignments.pop(folder)
            student, assignment = Path(folder).parent.name, Path(folder).name
            self.log.error("Submission of student '%s' refused, not graded: %s",
                           student, reason)
            # like nbgrader's own failure: an earlier autograded copy does not stay behind
            try:
                remove_tree(Path(converter._format_dest(assignment, student)))
            except OSError as error:
                self.log.error("could not remove the earlier autograded copy of '%s': %s",
                               student, error)


class OnlyReleasedFiles(NbGraderPreprocessor):
    """Delete from the autograded folder whatever is not released (before any cell runs)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(parent=self)
        source = Path(coursedir.format_path(coursedir.source_directory, ".",
                                            info["assignment"]))
        dest = Path(coursedir.format_path(coursedir.autograded_directory, info["student"],
                                          info["assignment"]))
        keep = {path.relative_to(source).as_posix() for path in source.rglob("*")
                if path.suffix != ".ipynb"}  # the instructor's folder: trusted
        keep |= {*EXCHANGE_FILES, f"{info['notebook']}.ipynb"}
        if dest.is_dir():
            self._prune(dest, keep)
        return nb, resources

    def _prune(self, dest: Path, keep: set[str]) -> None:
        # what is left here was copied from a folder GuardedExporter accepted (bounded)
        # and from source/: a plain walk of it is safe
        folders_kept = {"/".join(k.split("/")[:i]) for k in keep
                        for i in range(1, k.count("/") + 1)}
        gone: list[str] = []
        for entry in scan_tree(dest, DEST_CAPS):
            if any(entry.path.startswith(g + "/") for g in gone):
                continue
            if entry.path in keep or (entry.is_dir and entry.path in folders_kept):
                continue
            remove_tree(dest / entry.path)
            gone.append(entry.path)
        if gone:
            self.log.info("Not given to the kernel (not released files): %s",
                          ", ".join(gone[:10]))
