"""Fixtures for the geo package tests."""

from pathlib import Path

import pytest

# ../shared/data next to the repository: present in the development workspace, absent in a user's clone.
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return the shared test-data directory, skipping the test when it is absent."""
    if not (SHARED_DATA / "minhang_towns_wgs84.geojson").is_file():
        pytest.skip(
            f"shared test data not found at {SHARED_DATA} (only present in the development workspace)"
        )
    return SHARED_DATA
