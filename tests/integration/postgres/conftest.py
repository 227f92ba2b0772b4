"""Fixtures for the shared-store tests: one real PostgreSQL lab server for the session (reused if one is
already running, stopped at the end if this session started it) and a fresh empty database per test.
If the lab cannot start, every test here fails (no skip)."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator

import pytest

from tests.lab import postgres as lab


@pytest.fixture(scope="session")
def pg_lab() -> Iterator[lab.PostgresLab]:
    running = lab.status()
    try:
        server = running or lab.start()
    except (lab.LabError, OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"the PostgreSQL lab cannot start: {exc}")
    yield server
    if running is None:
        lab.stop()


@pytest.fixture
def pg_url(pg_lab: lab.PostgresLab) -> Iterator[str]:
    name = "t_" + secrets.token_hex(6)
    url = pg_lab.create_database(name)
    yield url
    pg_lab.drop_database(name)
