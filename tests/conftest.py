"""Root of the test suite.

Layout: ``tests/policies`` tests the pure policies against the real projects'
own cases; ``tests/experiment`` the sweep layer; the files here drive the
engine through ``sim.run``. Markers (pyproject.toml): ``statistical`` for the
long validation against queueing theory, ``notebooks`` for notebook execution;
CI runs both.

Helpers shared by several test files live in :mod:`scenario_helpers`; this
file puts ``tests/`` on the import path so that files in sub-folders can
import it too.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if a simulation starts: problems must be found before."""
    def refuse(*args, **kwargs):
        raise AssertionError("the run started before the bad input was reported")
    monkeypatch.setattr("sim.runner.run", refuse)
