"""Shared fixtures. Real-world samples live in tests/data/real (copied from the shared data, with their sources)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = TEST_DATA / "real"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real-world samples (``tests/data/real``; sources in its README)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real-world samples missing: expected {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def test_data() -> Path:
    """Folder of the hand-made test files (``tests/data``)."""
    return TEST_DATA


# Hypothesis: random exploration while developing; a fixed, reproducible sequence in CI (`CI=true`), so a
# submission's result does not depend on the draw. New failures are found locally and fixed before landing.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
_hypothesis_settings.register_profile("dev", print_blob=True)
_hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")
