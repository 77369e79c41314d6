"""Run ``nbgrader autograde`` and then ``nbgrader generate_feedback`` in one process.

    python -m course_grader.batch.steps <autograde args> --then <feedback args>

Starting nbgrader costs seconds of imports; a student's two steps share one
start.  Each step is nbgrader's own command-line application, given the same
arguments ``nbgrader <step> ...`` would get.  The exit status is autograde's;
feedback runs only when autograde succeeded.
"""

from __future__ import annotations

import sys


def run_app(argv: list[str]) -> int:
    from jupyter_core.application import NoStart
    from nbgrader.apps import NbGraderApp

    app = NbGraderApp()
    code = 0
    try:
        app.initialize(argv)
        app.start()
    except NoStart:  # how a Jupyter application says its subcommand has finished
        pass
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        # both applications are singletons: clear them so the next step can start
        app.reset()
    return code


def main(argv: list[str]) -> int:
    if "--then" in argv:
        split = argv.index("--then")
        first, then = argv[:split], argv[split + 1:]
    else:
        first, then = argv, []
    code = run_app(first)
    if code == 0 and then:
        run_app(then)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
