"""Replace a file whole or not at all: a reader (or a re-run after an interrupt) never
sees half of it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to a new file beside ``path`` (folders made as needed), then rename
    it over ``path``; if anything fails, ``path`` keeps what it held and nothing is left
    beside it.  Text is written as UTF-8, byte for byte (no newline translation)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # a new name of its own (O_EXCL): two writers never share a temporary file
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
