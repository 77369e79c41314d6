"""A second assignment, "activations", that lives in the test suite (issue 18).

Everything a course engineer writes to put another assignment on this grader,
and nothing else: ``Activations.ipynb`` (the master notebook: answer cells,
graded test cells with points and hidden tests), ``declaration.py`` (the calls
the grader makes, what comes back, the judges and their diagnoses),
``samples.py`` (submissions and the points each must get) and ``course.py``
(copies the notebook and the declaration into a course, and adds the one line
of ``nbgrader_config.py`` that names the declaration).  No file of
``course_grader/`` names it; ``grader_tests/test_second_assignment.py`` grades
it with plain ``nbgrader autograde`` and with the class grader.
"""
