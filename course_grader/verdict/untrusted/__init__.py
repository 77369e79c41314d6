"""What runs beside student code, inside the sandbox: ``runner.py``.

The grader never imports anything from this folder; ``verdict.child`` copies
``runner.py`` into the sandbox's read-only folder and starts it there, and
``verdict.intake`` reads what it leaves behind as data.
"""
