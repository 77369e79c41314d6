"""The trusted verdict, generic: a sandboxed runner calls the graded functions
(``untrusted/``), the intake reads what it left as data, the assignment's
declaration scores it, and nbgrader's steps put the result into the notebook."""
