"""nbgrader configuration for the Initialization course (this folder is the course)."""

import os
from pathlib import Path

from course_grader.gradebook import course_db_url
from course_grader.pipeline import (
                                    AUTOGRADE_EXPORTER,
                                    AUTOGRADE_STEPS,
                                    FEEDBACK_EXPORTER,
                                    FEEDBACK_STEPS,
                                    SANDBOX_UID,
                                    SANITIZE_STEPS,
                                    VERDICT_UID,
)
from course_grader.sandbox.bubblewrap import Limits

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)
HERE = Path(__file__).resolve().parent

c.CourseDirectory.root = str(HERE)
c.CourseDirectory.course_id = "initialization-course"

# Gradebook: gradebook.db (SQLite) by default, with a timeout that makes a
# second writer wait for the lock instead of failing the whole batch.  Set
# NBGRADER_DB_URL to a postgresql:// URL to share one gradebook between
# machines or workers (see course_grader/gradebook.py).
c.CourseDirectory.db_url = course_db_url(HERE)

# Per-cell limit (120 s, course_grader/sandbox/bubblewrap.py's Limits, like every
# other cap): the slowest cell trains for about 1-2 s here; 120 s leaves room
# for a slow or loaded machine and still stops an endless loop.
c.Execute.timeout = Limits.cell_timeout
c.Execute.interrupt_on_timeout = True

# A deleted test cell is put back (and graded) instead of silently scoring 0.
c.OverwriteCells.add_missing_cells = True

# Any stderr text in a test cell scores 0.  Library warnings printed by a
# correct answer must not cost points, so they are dropped before grading.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(RuntimeWarning|DeprecationWarning|PendingDeprecationWarning|FutureWarning|"
    r"UserWarning|MatplotlibDeprecationWarning|ComplexWarning)"
)

# Grading: the kernel runs in a bubblewrap sandbox (no network, only its own
# folder writable, resource caps), and every test cell of a declared assignment
# is scored by the trusted verdict, computed outside the kernel from what the
# student's functions return in a sandboxed grading child (the setup cell run
# once, each submission's answer cells in forks of it).  Nothing a browser
# could run survives into the graded notebook.  See course_grader/pipeline.py
# and docs/batch-grading.md.
c.Autograde.autograde_preprocessors = AUTOGRADE_STEPS
# A submission folder holding a link, a FIFO, a device, a hard link or a tree past
# the caps is refused (that student alone, with the reason in the log) before
# nbgrader copies anything; only the notebook and the released files reach the
# kernel (course_grader/plain_guard.py).
c.Autograde.exporter_class = AUTOGRADE_EXPORTER
c.Autograde.sanitize_preprocessors = SANITIZE_STEPS
c.SandboxKernelManager.uid = SANDBOX_UID  # only used when grading as root
c.TrustedVerdict.uid = VERDICT_UID  # first of one uid per exercise
# Which declaration grades an assignment (course_grader/verdict/registry.py): by
# default course_grader.assignments.<assignment>; another module or a .py file
# (relative to this folder) is named here.  An assignment with none is graded by
# nbgrader's own test cells, as the kernel ran them.
# c.AssignmentDeclarations.modules = {"lab2": "grading/lab2_declaration.py"}

# The class grader (python -m course_grader grade) decides every grade from the
# trusted verdict without running the notebook; True also runs every cell in a
# sandboxed kernel (as --full does), so the students' plots are re-run in the
# feedback.  Grades are the same either way.
c.ClassGrader.run_every_cell = False

# Feedback must not show hidden test source, nor anything executable: the page
# loads no MathJax, and the lesson's formulas arrive as MathML made here.
c.GenerateFeedback.preprocessors = FEEDBACK_STEPS
c.GenerateFeedback.exporter_class = FEEDBACK_EXPORTER

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# A course-local exchange folder, so the formgrader does not warn about a
# missing system-wide /usr/local/share/nbgrader/exchange.  On the course's
# JupyterHub (hub/) every account shares one exchange, named by the hub.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", str(HERE / "exchange"))

# Collect (the formgrader's Collect button and `nbgrader collect`) through the
# trusted intake: identity from the Unix owner of each inbound folder, time
# from the grader's clock or the file system's change time, content copied
# once into intake/ (instructor-only); links, special files and another
# student's name are refused and the student is told why (docs/hub-intake.md).
c.ExchangeFactory.collect = "course_grader.exchange.collect.TrustedCollect"
