"""Every command takes the assignment: by name, or the course's only one; it never guesses.

Real course folders (only ``source/``, as the commands read it) and the real
command line in this process; nothing reaches nbgrader, because choosing the
assignment comes first.
"""

from __future__ import annotations

import pytest

from course_grader import cli
from course_grader.course import UnknownAssignment, choose_assignment, notebook_names


def course_with(folder, *names):
    for name in names:
        (folder / "source" / name).mkdir(parents=True)
        (folder / "source" / name / f"{name.title()}.ipynb").write_text("{}")
    (folder / "source").mkdir(exist_ok=True)
    return folder


def test_the_only_assignment_is_the_default(tmp_path):
    course = course_with(tmp_path, "lab1")
    (course / "source" / ".ipynb_checkpoints").mkdir()  # Jupyter's, not an assignment
    assert choose_assignment(course) == "lab1"
    assert choose_assignment(course, "lab1") == "lab1"
    assert notebook_names(course, "lab1") == ["Lab1"]


@pytest.mark.parametrize("names", [(), ("lab1", "lab2")])
def test_without_a_name_the_course_must_have_exactly_one(tmp_path, names):
    with pytest.raises(UnknownAssignment, match=rf"holds {len(names)} \((none|lab1, lab2)\)"):
        choose_assignment(course_with(tmp_path, *names))


def test_a_name_the_course_does_not_have_is_refused_with_the_list(tmp_path):
    with pytest.raises(UnknownAssignment, match=r"no assignment 'lab3' .*\(it holds: lab1, lab2\)"):
        choose_assignment(course_with(tmp_path, "lab1", "lab2"), "lab3")


@pytest.mark.parametrize("command", [["release"], ["grade", "--no-sandbox"], ["export-lms"]])
def test_no_command_guesses_between_two_assignments(tmp_path, capsys, command):
    course = course_with(tmp_path, "lab1", "lab2")
    assert cli.main([*command, "--course", str(course)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"{command[0]}: name the assignment") and "(lab1, lab2)" in error
    assert sorted(p.name for p in course.iterdir()) == ["source"]  # nothing written


@pytest.mark.parametrize("command", ["release", "grade"])
def test_a_command_refuses_an_assignment_the_course_lacks(tmp_path, capsys, command):
    course = course_with(tmp_path, "lab1", "lab2")
    assert cli.main([command, "lab3", "--course", str(course)]) == 2
    assert "no assignment 'lab3'" in capsys.readouterr().err
    assert sorted(p.name for p in course.iterdir()) == ["source"]


def test_a_release_writes_the_files_its_assignment_package_makes(tmp_path):
    """Initialization's package writes its catalogue of mistakes into the source folder
    before each release; an assignment without a package of its own gets nothing."""
    course = course_with(tmp_path, "initialization", "lab1")
    cli.write_release_files(course, "initialization")
    cli.write_release_files(course, "lab1")
    assert sorted(p.name for p in (course / "source" / "initialization").iterdir()) == [
        "Initialization.ipynb", "visible_mistakes.json"]
    assert [p.name for p in (course / "source" / "lab1").iterdir()] == ["Lab1.ipynb"]
