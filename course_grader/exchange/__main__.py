"""Take the new submissions of an assignment now, as a service watching the exchange would.

    python -m course_grader.exchange ASSIGNMENT --course <course folder> \\
        --exchange <exchange root> [--course-id ID] [--later]

Run it as the instructor. Without ``--later`` the grader's clock now is the
arrival time (run it when folders arrive); with ``--later`` the change times
date them, as ``nbgrader collect`` does. Prints one line per folder taken.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .intake import SETTLE_SECONDS, store_of, take_inbound

DEFAULT_COURSE_ID = "initialization-course"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--course", type=Path, required=True)
    parser.add_argument("--exchange", type=Path, required=True)
    parser.add_argument("--course-id", default=DEFAULT_COURSE_ID)
    parser.add_argument("--later", action="store_true",
                        help="the folders arrived earlier: date them by their change times")
    parser.add_argument("--settle", type=float, default=SETTLE_SECONDS,
                        help="seconds a folder must be unchanged before it is taken")
    args = parser.parse_args(argv)
    exchange_course = args.exchange / args.course_id
    try:
        round_ = take_inbound(exchange_course / "inbound", args.assignment,
                              store_of(args.course), at_arrival=not args.later,
                              settle=args.settle, feedback=exchange_course / "feedback",
                              course_id=args.course_id)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for a in round_.taken:
        if a.accepted:
            print(f"accepted {a.student} {a.when.isoformat()} ({a.time_source}) "
                  f"{a.content_hash[:12]}")
        else:
            print(f"refused  {a.claimed} from {a.student or '?'}: {a.reason}")
    for message in round_.waiting:
        print(f"waiting  {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
