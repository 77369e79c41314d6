"""Plain aligned text tables for the terminal (the demo's and the class grader's)."""

from __future__ import annotations


def format_table(rows: list[dict], columns: list[str]) -> str:
    """A plain aligned text table; ``rows`` are dicts keyed by ``columns``."""
    texts = [[str(row.get(col, "")) for col in columns] for row in rows]
    widths = [max(len(col), *(len(t[i]) for t in texts)) if texts else len(col)
              for i, col in enumerate(columns)]
    line = "  ".join(col.ljust(w) for col, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(t.ljust(w) for t, w in zip(row, widths)) for row in texts]
    return "\n".join(out)


def score_fraction(score: float, out_of: float) -> str:
    """``score/out_of`` as a person writes it: 30/30, 12.5/30, never 30/30.0."""
    return f"{score:g}/{out_of:g}"
