"""One way for every integration suite's session fixtures to hold a lab: yield it from its
``session()`` context (reused when already up, stopped at the end if this session started it), and
fail the tests (never skip them) when it cannot start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TypeVar

import pytest

from tests.lab.slurm.procs import LabError

LabT = TypeVar("LabT")


def lab_or_fail(context: AbstractContextManager[LabT], what: str) -> Iterator[LabT]:
    try:
        with context as lab:
            yield lab
    except (LabError, OSError) as exc:
        pytest.fail(f"the {what} lab cannot start: {exc}")
