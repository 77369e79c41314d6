"""The nbgrader steps this course grades with, named once for every way of grading.

``nbgrader_config.py`` gives them to plain ``nbgrader autograde`` and
``generate_feedback``; the class grader passes the same lists to its workers.
Compared with nbgrader's defaults: the kernel runs sandboxed with a notebook
deadline (``GuardedExecute``), every test cell is scored by the trusted
verdict (``TrustedVerdict``), and nothing a browser could run survives into
the graded notebook or the feedback (``InertNotebook``).
"""

# the inert step is the last step of both lists: whatever another step (or the class
# grader's SanitizeFeedback, inserted before it) adds to a notebook is cleaned too
INERT_STEP = "course_grader.verdict.preprocessor.InertNotebook"
# the same for the feedback page, which also turns the lesson's formulas into MathML
INERT_FEEDBACK_STEP = "course_grader.verdict.preprocessor.InertFeedback"
# the feedback page's exporter: nbgrader's feedback template without MathJax
FEEDBACK_EXPORTER = "course_grader.batch.feedback.FeedbackExporter"

AUTOGRADE_STEPS = [
    "course_grader.batch.execute.GuardedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "course_grader.verdict.preprocessor.TrustedVerdict",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    INERT_STEP,
]

# plain nbgrader autograde: refuse unsafe submission folders before nbgrader copies
# them, and give the kernel only the notebook and the released files (plain_guard.py)
AUTOGRADE_EXPORTER = "course_grader.plain_guard.GuardedExporter"
SANITIZE_STEPS = [
    "course_grader.plain_guard.OnlyReleasedFiles",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

FEEDBACK_STEPS = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    INERT_FEEDBACK_STEP,
]

# unprivileged uids when nbgrader runs as root: kernels get SANDBOX_UID (+ worker
# slot), the grading child's exercises VERDICT_UID onwards (+ 8 per slot)
SANDBOX_UID = 61000
VERDICT_UID = 62000
