"""The student edition (``notebooks/``): each assignment's released files, nothing else touched.

The folder may hold several assignments' releases and files an instructor put
there.  ``MANIFEST`` records, per assignment, the names its last release
wrote.  Publishing an assignment again replaces those names, removes the ones
the new release no longer has, and leaves every other name alone; it refuses
to overwrite a file another assignment's release wrote, or one no release
wrote (unless it already holds exactly the released bytes).

Every file is a real copy, never a link into ``source/``: a student who
downloads the folder (a zip from the hosting site, a checkout without symlink
support) must get ``model.py`` itself, not a one-line file naming its path.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

MANIFEST = ".released.json"  # assignment -> the names its last release wrote


class PublishRefused(Exception):
    """Publishing would overwrite a file this assignment's release did not write."""


def released_names(released: Path) -> list[str]:
    """The entries of a release folder that ship (nbgrader's and Python's leftovers do not)."""
    return sorted(p.name for p in released.iterdir()
                  if not p.name.startswith(".") and p.name != "__pycache__")


def _plain_name(name: object) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name \
        and "\\" not in name and "\0" not in name


def read_manifest(edition: Path) -> dict[str, list[str]]:
    """What each assignment's last release wrote into ``edition`` (empty: nothing yet)."""
    path = edition / MANIFEST
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    # names are removed later: one with a path in it could reach outside the folder
    if not (isinstance(data, dict) and all(
            isinstance(files, list) and all(_plain_name(n) for n in files)
            for files in data.values())):
        raise ValueError(f"{path} is not a release manifest (assignment -> file names)")
    return data


def _write_manifest(edition: Path, manifest: dict[str, list[str]]) -> None:
    text = json.dumps({a: sorted(set(files)) for a, files in sorted(manifest.items())},
                      indent=1)
    (edition / MANIFEST).write_text(text + "\n")


def _same(released: Path, present: Path) -> bool:
    if present.is_symlink():
        return False
    if released.is_dir():
        names = sorted(p.name for p in released.iterdir())
        return present.is_dir() and names == sorted(p.name for p in present.iterdir()) \
            and all(_same(released / n, present / n) for n in names)
    return present.is_file() and filecmp.cmp(released, present, shallow=False)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _refusals(released: Path, edition: Path, assignment: str, names: list[str],
              manifest: dict[str, list[str]]) -> list[str]:
    owner = {name: other for other, files in manifest.items() if other != assignment
             for name in files}
    ours = set(manifest.get(assignment, []))
    refusals = []
    for name in names:
        present = edition / name
        if name in owner:
            refusals.append(f"{present} belongs to the release of {owner[name]!r}")
        elif name not in ours and (present.exists() or present.is_symlink()) \
                and not _same(released / name, present):
            refusals.append(f"{present} was not written by a release of {assignment!r}")
    return refusals


def publish(released: Path, edition: Path, assignment: str) -> list[str]:
    """Make ``edition`` hold ``assignment``'s released files; return their names."""
    edition.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(edition)
    names = released_names(released)
    refusals = _refusals(released, edition, assignment, names, manifest)
    if refusals:
        raise PublishRefused("not publishing the release of "
                             f"{assignment!r}: " + "; ".join(refusals)
                             + " (move those files away, or rename them in source/)")
    previous = set(manifest.get(assignment, []))
    # claim the old and the new names before touching either: an interrupted publish
    # leaves nothing the next one would take for a foreign file
    manifest[assignment] = sorted(previous | set(names))
    _write_manifest(edition, manifest)
    for name in sorted(previous - set(names)):
        _remove(edition / name)
    for name in names:
        target = edition / name
        _remove(target)  # a link is replaced, never written through
        if (released / name).is_dir():
            shutil.copytree(released / name, target)
        else:
            shutil.copyfile(released / name, target)
    manifest[assignment] = names
    _write_manifest(edition, manifest)
    return names
