"""The class grader's local Dask cluster answers only its own coordinator.

On a hub every student has a shell on the grading machine; a scheduler on
127.0.0.1 without security would run any task a student sent it, as the
instructor. The engine's local cluster speaks TLS with certificates made in
memory, so a client without them is refused, and it serves no HTTP pages.
"""

from __future__ import annotations

import io
import os

import pytest
from distributed import Client
from distributed.security import Security

from course_grader.batch.engine import Engine

pytestmark = pytest.mark.slow


def test_a_client_without_the_certificates_cannot_run_anything():
    with Engine(None, 1, io.StringIO()) as engine:
        address = engine.cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        # the coordinator's own client works
        assert engine.client.submit(os.getpid).result(timeout=60) > 0
        port = address.rsplit(":", 1)[1]
        with pytest.raises((OSError, TimeoutError)):  # plain TCP, as before this fix
            Client(f"tcp://127.0.0.1:{port}", timeout=5).run(os.getuid)
        with pytest.raises((OSError, TimeoutError)):  # TLS with certificates of one's own
            Client(address, security=Security.temporary(), timeout=5).run(os.getuid)
