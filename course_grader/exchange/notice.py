"""Tell a refused student why, where ``nbgrader fetch_feedback`` looks.

nbgrader's fetch_feedback finds ``<exchange>/<course>/feedback/<hash>.html``
with ``hash = notebook_hash(secret=<submission_secret.txt>, notebook_id)``
from the student's own cached copy of the submission. Writing a short page
under that name for each notebook of a refused folder makes **Fetch
Feedback** (or the command) bring the reason to the student who handed it
in, and to no one else: the secret is known only to the submitting account.
The page is plain HTML with every student-written text escaped, and an
existing file is never replaced.
"""

from __future__ import annotations

import html
import os
import stat
import string
from pathlib import Path

from nbgrader.utils import notebook_hash

from .arrival import Arrival, utc

_SECRET = "submission_secret.txt"
_MAX_NOTEBOOKS = 20
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _read_secret(folder_fd: int) -> str | None:
    try:
        fd = os.open(_SECRET, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=folder_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > 1024:
            return None
        text = os.read(fd, 1024).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    ok = 16 <= len(text) <= 256 and all(ch in string.hexdigits for ch in text)
    return text if ok else None


def _notebook_ids(folder_fd: int) -> list[str]:
    names = []
    with os.scandir(folder_fd) as entries:
        for entry in entries:
            name = entry.name
            if name.endswith(".ipynb") and name.isprintable() and len(name) < 200:
                names.append(name[: -len(".ipynb")])
            if len(names) >= _MAX_NOTEBOOKS:
                break
    return sorted(names)


def refusal_page(arrival: Arrival, notebook: str) -> str:
    """The page a refused student reads; nothing in it runs in a browser."""
    esc = html.escape
    folder = arrival.notes.get("folder name", "?")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<title>Submission not accepted</title></head>\n<body>\n"
        "<h1>Your submission was not accepted</h1>\n"
        f"<p>Assignment <b>{esc(arrival.assignment)}</b>, notebook "
        f"<b>{esc(notebook)}</b>, seen by the grader at "
        f"{esc(utc(arrival.taken_at).strftime('%Y-%m-%d %H:%M:%S UTC'))}.</p>\n"
        f"<p><b>Why:</b> {esc(arrival.reason)}.</p>\n"
        "<p>Nothing of this submission was collected or graded. Submit again from your "
        "own account with the Assignments tab's <i>Submit</i> button; your newest accepted "
        "submission is the one graded. Ask your instructor if this is unexpected.</p>\n"
        f"<p style=\"color:#666\">Folder: {esc(folder)}</p>\n</body></html>\n")


def tell_refused(folder: Path, feedback: Path, arrival: Arrival, course_id: str = ""
                 ) -> list[Path]:
    """Write the refusal page for each notebook of ``folder``; the paths written."""
    try:
        folder_fd = os.open(folder, _DIR)
    except OSError:
        return []  # a link or vanished folder: only the instructor is told
    try:
        secret = _read_secret(folder_fd)
        notebooks = _notebook_ids(folder_fd) if secret else []
    except OSError:
        return []
    finally:
        os.close(folder_fd)
    if not notebooks:
        return []
    written = []
    for notebook in notebooks:
        path = publish(feedback, secret, notebook, refusal_page(arrival, notebook),
                       replace=False)  # never replace a page, ours or real feedback
        if path is not None:
            written.append(path)
    return written


def read_secret(folder: Path) -> str | None:
    """The ``submission_secret.txt`` of a folder, if it is a plain file holding a hex secret."""
    try:
        folder_fd = os.open(folder, _DIR)
    except OSError:
        return None
    try:
        return _read_secret(folder_fd)
    finally:
        os.close(folder_fd)


def publish(feedback: Path, secret: str, notebook: str, page: str, replace: bool = True
            ) -> Path | None:
    """Put ``page`` where ``fetch_feedback`` finds it for this secret and notebook.

    The exchange's ``feedback/`` is made as nbgrader makes it (0711: students
    reach a page only by its hashed name). The page is written under a
    temporary name and renamed into place, so a fetch never reads half a
    page; without ``replace`` an existing page is kept and None returned.
    """
    feedback = Path(feedback)
    if not feedback.is_dir():
        feedback.mkdir(mode=0o711, parents=True, exist_ok=True)
        os.chmod(feedback, 0o711)
    name = f"{notebook_hash(secret=secret, notebook_id=notebook)}.html"
    out_dir = os.open(feedback, _DIR)
    try:
        if not replace and _exists(name, out_dir):
            return None
        temp = f".{name}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644,
                     dir_fd=out_dir)
        os.fchmod(fd, 0o644)  # the student's own fetch reads it
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        if replace:
            os.rename(temp, name, src_dir_fd=out_dir, dst_dir_fd=out_dir)
        else:
            try:  # a link, unlike a rename, fails when the name was taken meanwhile
                os.link(temp, name, src_dir_fd=out_dir, dst_dir_fd=out_dir)
            except FileExistsError:
                return None
            finally:
                os.unlink(temp, dir_fd=out_dir)
    finally:
        os.close(out_dir)
    return feedback / name


def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True
