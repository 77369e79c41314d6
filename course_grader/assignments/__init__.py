"""The course's assignments, one package each, above the generic verdict.

Each declares what the grader calls and how it scores what comes back; the
verdict, the class grader and the service find a declaration by the
assignment's name and never import an assignment themselves.
"""
