"""Shared fixtures. Real-world samples live in tests/data/real (with their sources in its README)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"
REAL_DATA = TEST_DATA / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder of the real-world samples (``tests/data/real``; sources in its README)."""
    if not REAL_DATA.is_dir():
        pytest.fail(f"real-world samples missing: expected {REAL_DATA}")
    return REAL_DATA


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
