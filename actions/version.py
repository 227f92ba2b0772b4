"""dcops' version, from one source: the ``version`` in pyproject.toml, read back from the installed
distribution's metadata (so ``dcops --version``, ``dcops.actions.__version__`` and ``pip show dcops``
can never disagree). Running from a checkout that was never installed gives ``0+unknown``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("dcops")
except PackageNotFoundError:  # a bare checkout on PYTHONPATH, not installed
    __version__ = "0+unknown"
