"""The class grader's own settings in the course's ``nbgrader_config.py`` (``c.ClassGrader``).

traitlets reads them as it reads nbgrader's: typed, with defaults and help.
A value of the wrong type or a name the class grader does not know is refused
before anyone is graded (traitlets alone would only warn about the name).
"""

from __future__ import annotations

from traitlets import Bool, TraitError
from traitlets.config import Config, Configurable


class SettingsError(ValueError):
    """``c.ClassGrader`` holds something the class grader cannot use; the message says what."""


class ClassGrader(Configurable):
    run_every_cell = Bool(False, help="also run every cell in a sandboxed kernel (as --full "
                          "does), so the students' plots are re-run in the feedback; the "
                          "grades are the same either way").tag(config=True)


def read_settings(config: Config) -> ClassGrader:
    """The ``c.ClassGrader`` section of ``config``; SettingsError when it is wrong."""
    section = config.get("ClassGrader", Config())
    known = set(ClassGrader.class_trait_names(config=True))
    unknown = sorted(set(section) - known)
    if unknown:
        raise SettingsError(f"c.ClassGrader.{unknown[0]} is not a setting of the class "
                            f"grader (it has: {', '.join(sorted(known))})")
    try:
        return ClassGrader(config=config)
    except TraitError as error:
        raise SettingsError(f"c.ClassGrader: {error}") from None
